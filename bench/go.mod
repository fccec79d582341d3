module github.com/parleyim/parley/bench

go 1.26.0

replace github.com/parleyim/parley => ../

require (
	github.com/google/uuid v1.6.0
	github.com/parleyim/parley v0.0.0
	github.com/xmppo/go-xmpp v0.4.1
	gosrc.io/xmpp v0.5.1
	mellium.im/sasl v0.3.2
	mellium.im/xmlstream v0.15.4
	mellium.im/xmpp v0.22.0
)

require (
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
	golang.org/x/xerrors v0.0.0-20190717185122-a985d3407aa7 // indirect
	mellium.im/reader v0.1.0 // indirect
	nhooyr.io/websocket v1.6.5 // indirect
)
