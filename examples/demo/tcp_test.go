package main

import (
	"os"

	"github.com/parleyim/parley/xmpptest"
)

func newTCPServer() (*xmpptest.Server, error) {
	srv, err := xmpptest.Start(&xmpptest.Config{Domain: "parley.example", Listen: true})
	if err != nil {
		return nil, err
	}
	for _, u := range [][2]string{{"alice", "alice-secret"}, {"bob", "bob-secret"}} {
		if _, err := srv.AddUser(u[0], u[1]); err != nil {
			srv.Close()
			return nil, err
		}
	}
	return srv, nil
}

func writeFile(name string, b []byte) error { return os.WriteFile(name, b, 0o600) }
