package xmppd

import "errors"

// childEnv is the environment of every server process: nothing inherited
// from the test's environment can redirect a server's files or runtime.
func childEnv(home string) []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + home,
		"LANG=C.UTF-8",
	}
}

// errExited says the server process ended before it was ready.
var errExited = errors.New("server process exited")
