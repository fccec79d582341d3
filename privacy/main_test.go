package privacy_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/parleyim/parley/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// closeAtEnd closes s when the test ends.
func closeAtEnd(t *testing.T, s *session.Session) {
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
