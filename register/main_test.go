package register_test

import (
	"context"
	"encoding/xml"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parleyim/parley/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// closeAtEnd closes s when the test ends.
func closeAtEnd(t *testing.T, s interface{ Close(context.Context) error }) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitDone waits for s to end and returns why.
func waitDone(t *testing.T, s *session.Session) error {
	t.Helper()
	select {
	case <-s.Done():
		return s.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
		return nil
	}
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
