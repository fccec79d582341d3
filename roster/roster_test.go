package roster

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/parleyim/parley/session"
)

// On a resumed stream the server kept the session's state: the start hook
// fetches nothing (a nil session would panic if it tried) and reports
// nothing. Session cannot resume streams yet, so the hook is called
// directly.
func TestStartResumedFetchesNothing(t *testing.T) {
	t.Parallel()
	r := Handle(session.NewMux())
	called := false
	r.HandleFetch(func(context.Context, *session.Session, error) { called = true })
	assert.NotPanics(t, func() { r.start(context.Background(), nil, true) })
	assert.False(t, called)
}

func TestSetReplyLimit(t *testing.T) {
	t.Parallel()
	r := Handle(session.NewMux())
	assert.Equal(t, DefaultReplyLimit, r.limit)
	r.SetReplyLimit(5 << 20)
	assert.Equal(t, 5<<20, r.limit)
	r.SetReplyLimit(0)
	assert.Equal(t, DefaultReplyLimit, r.limit)
}
