package jid

import "encoding/xml"

// MarshalText implements encoding.TextMarshaler. The zero JID marshals as
// empty text.
func (j JID) MarshalText() ([]byte, error) {
	return []byte(j.s), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. Empty text gives the
// zero JID, so MarshalText and UnmarshalText round-trip every JID; any
// other text must be a valid address.
func (j *JID) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*j = JID{}
		return nil
	}
	k, err := Parse(string(text))
	if err != nil {
		return err
	}
	*j = k
	return nil
}

// MarshalXMLAttr implements xml.MarshalerAttr. The zero JID marshals as an
// omitted attribute (xml.Attr{}).
func (j JID) MarshalXMLAttr(name xml.Name) (xml.Attr, error) {
	if j.IsZero() {
		return xml.Attr{}, nil
	}
	return xml.Attr{Name: name, Value: j.s}, nil
}

// UnmarshalXMLAttr implements xml.UnmarshalerAttr. The attribute must hold
// a valid address: since the zero JID is written as no attribute at all, an
// attribute that is present but empty is an error.
func (j *JID) UnmarshalXMLAttr(attr xml.Attr) error {
	k, err := Parse(attr.Value)
	if err != nil {
		return err
	}
	*j = k
	return nil
}
