package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
)

// target is one place to connect to.
type target struct {
	addr      string // host:port
	directTLS bool
}

// errNoService means the domain's SRV records say it offers no XMPP client
// service (a single record with target ".", RFC 2782).
var errNoService = errors.New("the domain offers no XMPP client service (SRV target \".\")")

// targets lists where to connect for the account's domain, in the order
// to try them: Config.Addr if set; else the SRV records of
// _xmpps-client._tcp (direct TLS, XEP-0368) and _xmpp-client._tcp
// (STARTTLS) merged by RFC 2782 priority and weight, or the domain itself
// on port 5222 when there are none.
func (d *dialer) targets(ctx context.Context) ([]target, error) {
	if d.cfg.Addr != "" {
		return []target{{addr: d.cfg.Addr, directTLS: d.cfg.DirectTLS}}, nil
	}
	domain := d.account.Domainpart()
	var r Resolver = net.DefaultResolver
	if d.cfg.Resolver != nil {
		r = d.cfg.Resolver
	}
	type rec struct {
		srv    *net.SRV
		direct bool
	}
	var recs []rec
	refused := 0
	for _, svc := range []struct {
		name   string
		direct bool
	}{{"xmpps-client", true}, {"xmpp-client", false}} {
		_, srvs, err := r.LookupSRV(ctx, svc.name, "tcp", domain)
		if err != nil || len(srvs) == 0 {
			// No records (or a failed lookup) for this service: the other
			// one or the fallback applies.
			continue
		}
		if len(srvs) == 1 && (srvs[0].Target == "." || srvs[0].Target == "") {
			refused++
			continue
		}
		for _, s := range srvs {
			if s.Target == "." || s.Target == "" {
				continue
			}
			recs = append(recs, rec{s, svc.direct})
		}
	}
	if len(recs) == 0 {
		if refused > 0 {
			return nil, errNoService
		}
		return []target{{addr: net.JoinHostPort(domain, "5222")}}, nil
	}
	// RFC 2782: ascending priority; within a priority, a weighted random
	// order.
	slices.SortStableFunc(recs, func(a, b rec) int {
		if a.srv.Priority != b.srv.Priority {
			return int(a.srv.Priority) - int(b.srv.Priority)
		}
		// Zero weights first, as RFC 2782's selection expects.
		return min(int(a.srv.Weight), 1) - min(int(b.srv.Weight), 1)
	})
	out := make([]target, 0, len(recs))
	for i := 0; i < len(recs); {
		j := i
		for j < len(recs) && recs[j].srv.Priority == recs[i].srv.Priority {
			j++
		}
		group := recs[i:j]
		for len(group) > 0 {
			k := pickWeighted(group, func(x rec) int { return int(x.srv.Weight) })
			t := group[k]
			out = append(out, target{
				addr:      net.JoinHostPort(trimDot(t.srv.Target), strconv.Itoa(int(t.srv.Port))),
				directTLS: t.direct,
			})
			group = slices.Delete(group, k, k+1)
		}
		i = j
	}
	return out, nil
}

// pickWeighted chooses an index by RFC 2782's weighted selection: a
// random number in [0, total weight] picks the first entry whose running
// sum reaches it, so zero-weight entries (kept first by the caller's sort)
// get a small chance and the rest one in proportion to their weight.
func pickWeighted[T any](xs []T, weight func(T) int) int {
	total := 0
	for _, x := range xs {
		total += weight(x)
	}
	n := rand.IntN(total + 1)
	sum := 0
	for i, x := range xs {
		sum += weight(x)
		if sum >= n {
			return i
		}
	}
	return len(xs) - 1
}

func trimDot(host string) string {
	if len(host) > 1 && host[len(host)-1] == '.' {
		return host[:len(host)-1]
	}
	return host
}
