package wire

import (
	"github.com/parleyim/parley/internal/ns"
	"github.com/parleyim/parley/internal/xmlenc"
)

// AppendHeader appends the opening of a stream (RFC 6120 §4.7) to b: the
// XML declaration and the <stream:stream> start tag with h's attributes.
// Empty attributes are left out; NS defaults to jabber:client.
func AppendHeader(b []byte, h Header) []byte {
	content := h.NS
	if content == "" {
		content = ns.Client
	}
	b = append(b, "<?xml version='1.0'?><stream:stream"...)
	b = appendAttr(b, "to", h.To)
	b = appendAttr(b, "from", h.From)
	b = appendAttr(b, "id", h.ID)
	b = appendAttr(b, "version", h.Version)
	b = appendAttr(b, "xml:lang", h.Lang)
	b = appendAttr(b, "xmlns", content)
	b = appendAttr(b, "xmlns:stream", ns.Stream)
	return append(b, '>')
}

// Close is the end of a stream.
const Close = "</stream:stream>"

func appendAttr(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, "='"...)
	b = xmlenc.AppendEscaped(b, value)
	return append(b, '\'')
}
