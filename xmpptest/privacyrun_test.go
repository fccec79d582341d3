package xmpptest_test

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/stanza"
)

// What the privacy and blocking tables (privacycases_test.go) add to the
// presence table's runner: the lines of an iq a step sends (pIQ) and of
// the pushes and probes a client receives.
//
//	result                           an iq result without payload
//	error item-not-found             an iq error, its condition
//	privacy active=l default=l lists=[k l]   a privacy list names result
//	list l: 1 deny jid={b} [message]; 2 allow   a privacy list result
//	blocklist [{b} {c}]              a blocklist result
//	disco blocking                   disco#info: which of privacy and blocking it has
//	privacy push l                   a privacy list push
//	block push [{b}] / unblock push []   a blocking push
//	iq get {a}/a1                    the probe iq (nsProbe) a client received; it answers a result

const (
	nsPrivacy  = ns.Privacy
	nsBlocking = ns.Blocking
	nsProbe    = "urn:example:probe"
)

// iq sends the iq text and returns its answer as a line.
func (r *presenceRun) iq(where string, c *pclient, text string) string {
	if !strings.Contains(text, " id=") {
		c.marks++
		text = strings.Replace(text, "<iq", fmt.Sprintf("<iq id='%s-%d'", c.name, c.marks), 1)
	}
	iq, ok := r.parse(where, text).(*stanza.IQ)
	require.True(r.t, ok, "%s: an iq", where)
	reply, err := c.s.SendIQ(ctxFor(r.t), iq)
	var se *stanza.Error
	if errors.As(err, &se) {
		return "error " + string(se.Condition)
	}
	require.NoError(r.t, err, where)
	return r.shorten.Replace(renderAnswer(reply))
}

// renderAnswer writes an iq result as a line.
func renderAnswer(iq *stanza.IQ) string {
	raw, ok := iq.Raw()
	if !ok {
		return "result"
	}
	switch raw.Name() {
	case xml.Name{Space: nsPrivacy, Local: "query"}:
		return renderPrivacyQuery(raw)
	case xml.Name{Space: nsBlocking, Local: "blocklist"}:
		return "blocklist " + renderJIDs(raw)
	case xml.Name{Space: ns.DiscoInfo, Local: "query"}:
		line := "disco"
		for _, f := range []string{nsPrivacy, nsBlocking} {
			if strings.Contains(raw.String(), "'"+f+"'") || strings.Contains(raw.String(), `"`+f+`"`) {
				line += " " + f[strings.LastIndexAny(f, ":")+1:]
			}
		}
		return line
	}
	return "result " + raw.Name().Local
}

// renderPrivacyQuery writes a jabber:iq:privacy result: a list with its
// items, or the names.
func renderPrivacyQuery(raw *stanza.Raw) string {
	var active, def string
	var lists, items []string
	var listName string
	withItems := false
	var cur *[]string
	tr := raw.TokenReader()
	for {
		tok, err := tr.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "unreadable: " + raw.String()
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := func(name string) string {
			for _, a := range start.Attr {
				if a.Name.Local == name && a.Name.Space == "" {
					return a.Value
				}
			}
			return ""
		}
		switch start.Name.Local {
		case "active":
			active = attr("name")
		case "default":
			def = attr("name")
		case "list":
			listName = attr("name")
			lists = append(lists, listName)
		case "item":
			withItems = true
			line := attr("order") + " " + attr("action")
			if t := attr("type"); t != "" {
				line += " " + t + "=" + attr("value")
			}
			items = append(items, line)
			cur = &items
		case "message", "iq", "presence-in", "presence-out":
			if cur != nil {
				(*cur)[len(*cur)-1] += " [" + start.Name.Local + "]"
			}
		}
	}
	if withItems {
		slices.SortFunc(items, func(x, y string) int {
			var a, b int
			fmt.Sscan(x, &a)
			fmt.Sscan(y, &b)
			return a - b
		})
		// Kinds of one item as one bracket, sorted.
		for i, it := range items {
			head, kinds, ok := strings.Cut(it, " [")
			if !ok {
				continue
			}
			ks := strings.Fields(strings.NewReplacer("[", "", "]", "").Replace(kinds))
			slices.Sort(ks)
			items[i] = head + " [" + strings.Join(ks, " ") + "]"
		}
		return "list " + listName + ": " + strings.Join(items, "; ")
	}
	line := "privacy"
	if active != "" {
		line += " active=" + active
	}
	if def != "" {
		line += " default=" + def
	}
	slices.Sort(lists)
	return line + " lists=[" + strings.Join(lists, " ") + "]"
}

// renderJIDs writes the jid attributes of the items of raw, sorted.
func renderJIDs(raw *stanza.Raw) string {
	var js []string
	tr := raw.TokenReader()
	for {
		tok, err := tr.Token()
		if err != nil {
			break
		}
		if start, ok := tok.(xml.StartElement); ok && start.Name.Local == "item" {
			for _, a := range start.Attr {
				if a.Name.Local == "jid" {
					js = append(js, a.Value)
				}
			}
		}
	}
	slices.Sort(js)
	return "[" + strings.Join(js, " ") + "]"
}

// renderPrivacyPush writes a privacy list or blocking push as a line; a
// push from anyone but the account is marked.
func renderPrivacyPush(account jid.JID, iq *stanza.IQ) string {
	prefix := ""
	if !iq.From.IsZero() && iq.From != account {
		prefix = "from " + iq.From.String() + " "
	}
	raw, ok := iq.Raw()
	if !ok {
		return prefix + "push without payload"
	}
	if raw.Name().Space == nsBlocking {
		return prefix + raw.Name().Local + " push " + renderJIDs(raw)
	}
	var names []string
	tr := raw.TokenReader()
	for {
		tok, err := tr.Token()
		if err != nil {
			break
		}
		if start, ok := tok.(xml.StartElement); ok && start.Name.Local != "query" {
			if start.Name.Local != "list" || len(start.Attr) != 1 || start.Attr[0].Name.Local != "name" {
				return prefix + "privacy push unreadable: " + raw.String()
			}
			names = append(names, start.Attr[0].Value)
		}
	}
	if len(names) != 1 {
		return prefix + "privacy push unreadable: " + raw.String()
	}
	return prefix + "privacy push " + names[0]
}
