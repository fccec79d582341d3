package jid_test

import (
	"fmt"

	"github.com/parleyim/parley/jid"
)

func ExampleParse() {
	j, err := jid.Parse("Juliet@Example.COM/Balcony")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(j)
	fmt.Println(j.Localpart(), j.Domainpart(), j.Resourcepart())

	_, err = jid.Parse("juliet@example.com/")
	fmt.Println(err)
	// Output:
	// juliet@example.com/Balcony
	// juliet example.com Balcony
	// jid: resourcepart is empty
}

func ExampleJID_WithResource() {
	full := jid.MustParse("romeo@example.net/orchard")
	bare := full.Bare()
	fmt.Println(bare, bare.IsBare())

	other, err := bare.WithResource("balcony")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(other, other == full)
	// Output:
	// romeo@example.net true
	// romeo@example.net/balcony false
}
