module github.com/parleyim/parley

go 1.26.0

require (
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/net v0.62.0
	golang.org/x/text v0.44.0
	mellium.im/xmlstream v0.15.4
)

require (
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	mellium.im/reader v0.1.0 // indirect
)
