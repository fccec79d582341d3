package roster

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/parleyim/parley/internal/xmlenc"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// savedName is the element a Cache is saved as. Its child is the roster
// as a server sends it, so that saved data is read by the same (fuzzed)
// parser as the network's.
var savedName = xml.Name{Space: "urn:parleyim:roster-cache:0", Local: "roster"}

// maxSavedBytes bounds what Load reads: the default reply allowance of a
// fetch, which no saved roster can honestly exceed by much.
const maxSavedBytes = 2 * DefaultReplyLimit

// Save writes the cache to w as XML:
//
//	<roster xmlns='urn:parleyim:roster-cache:0' account='juliet@example.com'>
//	  <query xmlns='jabber:iq:roster' ver='ver14'><item …/>…</query>
//	</roster>
//
// The inner element is the roster query of RFC 6121 §2.1 with the cache's
// version. Load reads it back.
func (c *Cache) Save(w io.Writer) error {
	account, ver, items := c.snapshot()
	bw := bufio.NewWriter(w)
	enc := xml.NewEncoder(bw)
	var attrs []xml.Attr
	if !account.IsZero() {
		attrs = []xml.Attr{{Name: xml.Name{Local: "account"}, Value: account.String()}}
	}
	if err := enc.EncodeToken(xml.StartElement{Name: savedName, Attr: attrs}); err != nil {
		return fmt.Errorf("roster: saving: %w", err)
	}
	q := Query{Ver: ver, Items: items}
	if _, err := q.WriteXML(enc); err != nil {
		return fmt.Errorf("roster: saving: %w", err)
	}
	if err := enc.EncodeToken(xml.EndElement{Name: savedName}); err != nil {
		return fmt.Errorf("roster: saving: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("roster: saving: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("roster: saving: %w", err)
	}
	return nil
}

// Load replaces the cache's account, version and items with those Save
// wrote to r, and tells the watchers what changed. Data that is not a
// saved cache, or holds an item a roster cannot hold, is refused with an
// error (wrapping ErrMalformed where the roster breaks a rule) and leaves
// the cache as it was.
func (c *Cache) Load(r io.Reader) error {
	account, q, err := readSaved(io.LimitReader(r, maxSavedBytes))
	if err != nil {
		return err
	}
	if err := c.replace(account, q.Ver, q.Items); err != nil {
		return fmt.Errorf("roster: loading: %w", err)
	}
	return nil
}

func readSaved(r io.Reader) (jid.JID, *Query, error) {
	d := xml.NewDecoder(bufio.NewReader(r))
	start, err := nextStart(d)
	if err != nil {
		return jid.JID{}, nil, err
	}
	if start.Name != savedName {
		return jid.JID{}, nil, fmt.Errorf("roster: loading: <%s xmlns='%s'> is not a saved roster", start.Name.Local, start.Name.Space)
	}
	var account jid.JID
	if s, ok := xmlenc.Attr(start, "account"); ok {
		if account, err = jid.Parse(s); err != nil {
			return jid.JID{}, nil, fmt.Errorf("roster: loading: account %q: %w", s, err)
		}
		account = account.Bare()
	}
	qstart, err := nextStart(d)
	if err != nil {
		return jid.JID{}, nil, err
	}
	raw, err := stanza.ReadRaw(d, qstart)
	if err != nil {
		return jid.JID{}, nil, fmt.Errorf("roster: loading: %w", err)
	}
	q, err := ParseQuery(raw)
	if err != nil {
		return jid.JID{}, nil, fmt.Errorf("roster: loading: %w", err)
	}
	return account, q, nil
}

// nextStart returns the next start element, skipping white space, the XML
// declaration and comments.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("roster: loading: %w", xmlenc.NoEOF(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, errors.New("roster: loading: text outside the saved roster")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return xml.StartElement{}, fmt.Errorf("roster: loading: unexpected %T", t)
		}
	}
}
