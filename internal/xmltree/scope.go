package xmltree

import "encoding/xml"

// push puts b in force, innermost.
func (p *Parser) push(b Binding) {
	el := p.el
	idx := int32(len(el.Binds))
	el.Binds = append(el.Binds, b)
	pos := int32(len(p.scope))
	p.scope = append(p.scope, idx)
	if p.byPrefix == nil {
		if len(p.scope) <= scanMax {
			return
		}
		// Past scanMax: index the scope, once for this element.
		p.byPrefix = make(map[string]int32, 2*len(p.scope))
		p.shadow = p.shadow[:0]
		for k, bi := range p.scope {
			p.shadow = append(p.shadow, p.position(el.Binds[bi].Prefix))
			p.byPrefix[el.Binds[bi].Prefix] = int32(k)
		}
		return
	}
	p.shadow = append(p.shadow, p.position(b.Prefix))
	p.byPrefix[b.Prefix] = pos
}

// position returns the position in scope of prefix's binding, from the
// index, or -1.
func (p *Parser) position(prefix string) int32 {
	if k, ok := p.byPrefix[prefix]; ok {
		return k
	}
	return -1
}

// pop takes the bindings from scope[mark:] out of force.
func (p *Parser) pop(mark int32) {
	if p.byPrefix != nil {
		for k := int32(len(p.scope)) - 1; k >= mark; k-- {
			prefix := p.el.Binds[p.scope[k]].Prefix
			if prev := p.shadow[k]; prev >= 0 {
				p.byPrefix[prefix] = prev
			} else {
				delete(p.byPrefix, prefix)
			}
		}
		p.shadow = p.shadow[:mark]
	}
	p.scope = p.scope[:mark]
}

// lookup returns the binding in force for prefix, or -1.
func (p *Parser) lookup(prefix string) int32 {
	if p.byPrefix != nil {
		if k, ok := p.byPrefix[prefix]; ok {
			return p.scope[k]
		}
		return -1
	}
	binds := p.el.Binds
	for k := len(p.scope) - 1; k >= 0; k-- {
		if b := p.scope[k]; binds[b].Prefix == prefix {
			return b
		}
	}
	return -1
}

// declare checks a namespace declaration made at depth and puts it in
// force (Namespaces in XML 1.0 §3).
func (p *Parser) declare(prefix, uri string, depth int32, off int) error {
	switch {
	case prefix == "xmlns":
		return p.fail(NotWellFormed, "the prefix xmlns cannot be declared", off)
	case prefix == "xml" && uri != xmlURI:
		return p.fail(NotWellFormed, "the prefix xml bound to another namespace", off)
	case prefix != "xml" && uri == xmlURI:
		return p.fail(NotWellFormed, "the xml namespace bound to another prefix", off)
	case uri == xmlnsURI:
		return p.fail(NotWellFormed, "the xmlns namespace cannot be declared", off)
	case prefix != "" && uri == "":
		return p.fail(NotWellFormed, "an empty namespace for the prefix "+prefix, off)
	}
	if prefix == "xml" {
		return nil // predeclared; nothing changes
	}
	p.push(Binding{Prefix: prefix, URI: uri, Depth: depth})
	return nil
}

// resolve returns the binding of prefix; the empty prefix (only an
// element's) is the default namespace, NoBinding when there is none.
func (p *Parser) resolve(prefix string, off int) (int32, error) {
	if prefix == "xml" {
		return XMLBinding, nil
	}
	if prefix == "xmlns" {
		return 0, p.fail(NotWellFormed, "the prefix xmlns on an element", off)
	}
	b := p.lookup(prefix)
	if b < 0 {
		if prefix == "" {
			return NoBinding, nil
		}
		return 0, p.fail(NotWellFormed, "undeclared prefix "+prefix, off)
	}
	return b, nil
}

// bindDepth returns the Depth of the declaration b, notUsed for none.
func (p *Parser) bindDepth(b int32) int32 {
	if b < 0 {
		return notUsed
	}
	return p.el.Binds[b].Depth
}

// uniqueNames checks that no attribute name is written twice in a tag
// (XML 1.0 §3.1), namespace declarations included.
func (p *Parser) uniqueNames(attrs []Attr) error {
	dup := func(k int) error {
		return p.fail(NotWellFormed, "attribute "+qualified(p.str(attrs[k].Prefix), p.str(attrs[k].Local))+" given twice", p.aoff[k])
	}
	if len(attrs) <= scanMax {
		for k := 1; k < len(attrs); k++ {
			for m := range k {
				if p.str(attrs[m].Local) == p.str(attrs[k].Local) && p.str(attrs[m].Prefix) == p.str(attrs[k].Prefix) {
					return dup(k)
				}
			}
		}
		return nil
	}
	seen := make(map[[2]string]struct{}, len(attrs))
	for k, a := range attrs {
		key := [2]string{p.str(a.Prefix), p.str(a.Local)}
		if _, ok := seen[key]; ok {
			return dup(k)
		}
		seen[key] = struct{}{}
	}
	return nil
}

// uniqueExpanded checks that no two attributes have the same namespace
// and local name (Namespaces in XML 1.0 §6.3): prefixes bound to the same
// namespace do not make two attributes different. Only prefixed
// attributes can collide after resolution; declarations were checked by
// uniqueNames.
func (p *Parser) uniqueExpanded(attrs []Attr) error {
	el := p.el
	prefixed := func(a *Attr) bool { return a.Bind != NoBinding && a.Bind != declBinding }
	count := 0
	for k := range attrs {
		if prefixed(&attrs[k]) {
			count++
		}
	}
	if count < 2 {
		return nil
	}
	dup := func(k int) error {
		return p.fail(NotWellFormed, "attribute {"+el.URI(attrs[k].Bind)+"}"+p.str(attrs[k].Local)+" given twice", p.aoff[k])
	}
	if len(attrs) <= scanMax {
		for k := 1; k < len(attrs); k++ {
			if !prefixed(&attrs[k]) {
				continue
			}
			for m := range k {
				if prefixed(&attrs[m]) && p.str(attrs[m].Local) == p.str(attrs[k].Local) && el.URI(attrs[m].Bind) == el.URI(attrs[k].Bind) {
					return dup(k)
				}
			}
		}
		return nil
	}
	seen := make(map[xml.Name]struct{}, count)
	for k := range attrs {
		if !prefixed(&attrs[k]) {
			continue
		}
		name := xml.Name{Space: el.URI(attrs[k].Bind), Local: p.str(attrs[k].Local)}
		if _, ok := seen[name]; ok {
			return dup(k)
		}
		seen[name] = struct{}{}
	}
	return nil
}
