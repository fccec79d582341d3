package streamrec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Stream is one recorded stream of the corpus.
type Stream struct {
	// Name is the file's name, such as "prosody-session.xml".
	Name string
	// Data is the file's content: the server's bytes from the stream
	// header on.
	Data []byte
}

// Load reads every *.xml file of dir, in name order.
func Load(dir string) ([]Stream, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, fmt.Errorf("streamrec: %w", err)
	}
	sort.Strings(names)
	var out []Stream
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("streamrec: %w", err)
		}
		out = append(out, Stream{Name: filepath.Base(name), Data: data})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("streamrec: no recorded streams in %s", dir)
	}
	return out, nil
}

// Cut returns the parts of a recorded stream: its opening (the XML
// declaration and the stream header), the bytes of each top-level element
// as they are in data, and the rest (the close tag, or nothing). The
// elements are cut where encoding/xml finds them; namespace prefixes they
// use may be declared on the stream header.
func Cut(data []byte) (opening []byte, elements [][]byte, rest []byte, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth := 0
	from := int64(0) // where the current top-level element starts
	mark := 0        // where the last element, or the opening, ends
	for {
		before := d.InputOffset()
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if depth > 1 {
				return nil, nil, nil, fmt.Errorf("streamrec: input ends inside an element")
			}
			return opening, elements, data[mark:], nil
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("streamrec: %w", err)
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				opening = data[:d.InputOffset()]
				mark = len(opening)
			case 2:
				from = before
			}
		case xml.EndElement:
			depth--
			switch depth {
			case 0:
				return opening, elements, data[mark:], nil
			case 1:
				elements = append(elements, data[from:d.InputOffset()])
				mark = int(d.InputOffset())
			}
		}
	}
}
