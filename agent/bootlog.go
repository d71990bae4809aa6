package agent

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// bootLog writes one timestamped line per boot step: the workspace's boot
// log as `docker logs` or a console shows it.
type bootLog struct {
	mu  sync.Mutex
	out io.Writer
}

func (l *bootLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.out, "%s molecule-agent: %s\n", time.Now().UTC().Format(time.RFC3339Nano), fmt.Sprintf(format, args...))
}
