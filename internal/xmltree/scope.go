package xmltree

import "encoding/xml"

// inScope puts the binding b in force, innermost.
func (p *Parser) inScope(b int32) {
	pos := int32(len(p.scope))
	p.scope = append(p.scope, b)
	if p.byPrefix == nil {
		if len(p.scope) <= scanMax {
			return
		}
		// Past scanMax: index the scope, once for this element.
		p.byPrefix = make(map[string]int32, 2*len(p.scope))
		p.shadow = p.shadow[:0]
		for k, bi := range p.scope {
			prefix := p.bindPrefix(bi)
			p.shadow = append(p.shadow, p.position(prefix))
			p.byPrefix[prefix] = int32(k)
		}
		return
	}
	prefix := p.bindPrefix(b)
	p.shadow = append(p.shadow, p.position(prefix))
	p.byPrefix[prefix] = pos
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
			prefix := p.bindPrefix(p.scope[k])
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

// bindPrefix returns the prefix of the binding b (0 or more), while
// parsing.
func (p *Parser) bindPrefix(b int32) string {
	if int(b) < len(p.ctx) {
		return p.ctx[b].Prefix
	}
	return p.str(p.el.decls[int(b)-len(p.ctx)].Prefix)
}

// bindURI returns the namespace of the binding b, while parsing.
func (p *Parser) bindURI(b int32) string {
	switch {
	case b == XMLBinding:
		return xmlURI
	case b < 0:
		return ""
	case int(b) < len(p.ctx):
		return p.ctx[b].URI
	}
	return p.str(p.el.decls[int(b)-len(p.ctx)].URI)
}

// lookup returns the binding in force for prefix, or -1.
func (p *Parser) lookup(prefix string) int32 {
	if p.byPrefix != nil {
		if k, ok := p.byPrefix[prefix]; ok {
			return p.scope[k]
		}
		return -1
	}
	for k := len(p.scope) - 1; k >= 0; k-- {
		b := p.scope[k]
		var n int // the length of b's prefix
		if int(b) < len(p.ctx) {
			n = len(p.ctx[b].Prefix)
		} else {
			n = int(p.el.decls[int(b)-len(p.ctx)].Prefix.Len)
		}
		if n == len(prefix) && (n == 0 || p.bindPrefix(b) == prefix) {
			return b
		}
	}
	return -1
}

// declare checks the namespace declaration a, made at depth, and puts
// it in force (Namespaces in XML 1.0 §3).
func (p *Parser) declare(a *Attr, depth int32, off int) error {
	var prefix Span // the default namespace's
	if a.Prefix.Len > 0 {
		prefix = a.Local
	}
	pfx, uri := p.str(prefix), p.str(a.Value)
	if err := p.checkDecl(pfx, uri, off); err != nil || pfx == "xml" {
		return err // xml is predeclared; nothing changes
	}
	el := p.el
	el.decls = append(el.decls, decl{Prefix: prefix, URI: a.Value, Depth: depth})
	p.inScope(int32(len(p.ctx) + len(el.decls) - 1))
	return nil
}

// checkDecl checks that prefix may be bound to uri.
func (p *Parser) checkDecl(prefix, uri string, off int) error {
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
	switch {
	case b < 0:
		return notUsed
	case int(b) < len(p.ctx):
		return -1
	}
	return p.el.decls[int(b)-len(p.ctx)].Depth
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
				if attrs[m].Local.Len == attrs[k].Local.Len && attrs[m].Prefix.Len == attrs[k].Prefix.Len &&
					p.str(attrs[m].Local) == p.str(attrs[k].Local) && p.str(attrs[m].Prefix) == p.str(attrs[k].Prefix) {
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
		return p.fail(NotWellFormed, "attribute {"+p.bindURI(attrs[k].Bind)+"}"+p.str(attrs[k].Local)+" given twice", p.aoff[k])
	}
	if len(attrs) <= scanMax {
		for k := 1; k < len(attrs); k++ {
			if !prefixed(&attrs[k]) {
				continue
			}
			for m := range k {
				if prefixed(&attrs[m]) && p.str(attrs[m].Local) == p.str(attrs[k].Local) && p.bindURI(attrs[m].Bind) == p.bindURI(attrs[k].Bind) {
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
		name := xml.Name{Space: p.bindURI(attrs[k].Bind), Local: p.str(attrs[k].Local)}
		if _, ok := seen[name]; ok {
			return dup(k)
		}
		seen[name] = struct{}{}
	}
	return nil
}
