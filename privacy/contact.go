package privacy

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/parleyim/parley/disco"
	"github.com/parleyim/parley/jid"
	"github.com/parleyim/parley/session"
)

// DefaultListName is the name BlockWithList gives the default list it
// creates when the account has none (with a number appended when a list
// of that name exists already).
const DefaultListName = "blocked"

// BlockContact blocks all communication with contact: with the blocking
// command (Block) when the account's server lists urn:xmpp:blocking among
// its disco#info features, else with the default privacy list
// (BlockWithList). The choice costs a disco#info request each time; an
// application that blocks often can ask once and call Block or
// BlockWithList itself.
func BlockContact(ctx context.Context, s session.Sender, contact jid.JID) error {
	blocking, err := serverBlocks(ctx, s)
	if err != nil {
		return err
	}
	if blocking {
		return Block(ctx, s, contact)
	}
	return BlockWithList(ctx, s, contact)
}

// UnblockContact undoes BlockContact: with the blocking command (Unblock)
// when the server supports it, else with the default privacy list
// (UnblockWithList).
func UnblockContact(ctx context.Context, s session.Sender, contact jid.JID) error {
	blocking, err := serverBlocks(ctx, s)
	if err != nil {
		return err
	}
	if blocking {
		return Unblock(ctx, s, contact)
	}
	return UnblockWithList(ctx, s, contact)
}

func serverBlocks(ctx context.Context, s session.Sender) (bool, error) {
	info, err := disco.GetInfo(ctx, s, s.Addr().Domain(), "")
	if err != nil {
		return false, fmt.Errorf("privacy: asking the server for blocking support: %w", err)
	}
	return info.HasFeature(NSBlocking), nil
}

// BlockWithList blocks all communication with contact through the
// account's default privacy list, as a client without the blocking command
// does (RFC 3921 §10): it puts a deny item for contact (type jid, every
// stanza kind) before every other item of the default list, renumbering
// the orders 1, 2, 3 … in the list's order, and sets the list whole. When
// the account has no default list, it creates one (DefaultListName, or a
// name no list has) holding the one item and makes it the default; it
// never replaces a list that is not the default.
//
// The default list applies to the sessions without an active list: a
// session whose active list lets contact through still receives from it.
// Server errors come back as *stanza.Error: conflict when the server
// refuses to change a list or the default while another resource uses it
// (the list is then left as the server has it, and a list BlockWithList
// created is removed again).
func BlockWithList(ctx context.Context, s session.Sender, contact jid.JID) error {
	if contact.IsZero() {
		return invalid("block the zero JID")
	}
	names, err := ListNames(ctx, s)
	if err != nil {
		return err
	}
	deny := Item{Type: TypeJID, Value: contact.String(), Action: Deny}
	if names.Default == "" {
		name := freshName(names.Lists)
		deny.Order = 1
		if err := SetList(ctx, s, List{Name: name, Items: []Item{deny}}); err != nil {
			return err
		}
		if err := SetDefault(ctx, s, name); err != nil {
			// Leave no list behind that nothing uses.
			_ = RemoveList(ctx, s, name)
			return err
		}
		return nil
	}
	l, err := GetList(ctx, s, names.Default)
	if err != nil {
		return err
	}
	return SetList(ctx, s, InsertFirst(l, deny))
}

// UnblockWithList undoes BlockWithList: it removes the deny items for
// contact of type jid that cover every stanza kind from the default list
// and sets the rest. A list left without items keeps a single allow item
// (the fall-through: it blocks nothing), since an empty list would remove
// it, which the server refuses while another resource uses it. Without a
// default list, or without such an item, nothing is sent after the
// request for the list.
func UnblockWithList(ctx context.Context, s session.Sender, contact jid.JID) error {
	if contact.IsZero() {
		return invalid("unblock the zero JID")
	}
	names, err := ListNames(ctx, s)
	if err != nil || names.Default == "" {
		return err
	}
	l, err := GetList(ctx, s, names.Default)
	if err != nil {
		return err
	}
	value := contact.String()
	n := len(l.Items)
	l.Items = slices.DeleteFunc(slices.Clone(l.Items), func(it Item) bool { return isBlock(it, value) })
	if len(l.Items) == n {
		return nil
	}
	if len(l.Items) == 0 {
		l.Items = []Item{{Action: Allow, Order: 1}}
	}
	return SetList(ctx, s, l)
}

// InsertFirst returns a copy of l with it placed before every other item,
// the orders renumbered 1, 2, 3 … in the list's order (it first): RFC 3921
// §10 leaves renumbering to the client that inserts. Items equal to it but
// for the order are dropped, so that inserting twice leaves one.
func InsertFirst(l List, it Item) List {
	rest := slices.DeleteFunc(l.Sorted(), func(x Item) bool {
		x.Order = it.Order
		return x == it
	})
	items := make([]Item, 0, len(rest)+1)
	items = append(items, it)
	items = append(items, rest...)
	for i := range items {
		items[i].Order = uint32(i + 1)
	}
	return List{Name: l.Name, Items: items}
}

// isBlock reports whether it is the item BlockWithList adds for the JID
// value.
func isBlock(it Item, value string) bool {
	return it.Type == TypeJID && it.Value == value && it.Action == Deny && it.Kinds == 0
}

// freshName returns DefaultListName, or it with the smallest number
// appended that no list in names has.
func freshName(names []string) string {
	name := DefaultListName
	for i := 2; slices.Contains(names, name); i++ {
		name = DefaultListName + "-" + strconv.Itoa(i)
	}
	return name
}
