package fake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/molecule-ai/molecule-host/sdk"
)

// recordPrefix starts every record's file name, <state_dir>/workspace-<id>.json,
// so no workspace id can collide with the fault file or the locks.
const recordPrefix = "workspace-"

// maxLogLines bounds the boot lines a record keeps.
const maxLogLines = 500

// record is the fake substrate of one workspace, persisted as JSON.
type record struct {
	ID          string            `json:"id"`
	OrgID       string            `json:"org_id,omitempty"`
	State       sdk.RunState      `json:"state"` // running or stopped
	Env         map[string]string `json:"env,omitempty"`
	ConfigFiles map[string][]byte `json:"config_files,omitempty"`
	ConfigHash  string            `json:"config_hash"`
	Token       string            `json:"token"`
	HostURL     string            `json:"host_url"`
	AgentDir    string            `json:"agent_dir,omitempty"`
	StartCount  int               `json:"start_count"`
	Logs        []logLine         `json:"logs,omitempty"`
}

// logLine is one boot line; Seq grows by one per line, so a follower
// resumes after the last Seq it sent even when old lines are trimmed.
type logLine struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// store reads and writes the records of one state dir. Every write is a
// temp file plus rename, so a reader (or a restarted plugin) never sees a
// torn record. mu serializes this process's read-modify-write cycles.
type store struct {
	dir string
	mu  sync.Mutex
}

func newStore(stateDir string) *store {
	return &store{dir: stateDir}
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkID refuses workspace ids that are not safe file names.
func checkID(op, id string) error {
	if !idRE.MatchString(id) {
		return sdk.Invalid(op, "The workspace id is invalid.", sdk.FieldError{
			Path: "workspace_id", Message: fmt.Sprintf("%q must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit", id),
		})
	}
	return nil
}

func (s *store) path(id string) string { return filepath.Join(s.dir, recordPrefix+id+".json") }

// read returns the record of id, or nil, nil when there is none.
func (s *store) read(id string) (*record, error) {
	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode record %s: %w", s.path(id), err)
	}
	return &r, nil
}

func (s *store) write(r *record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(r.ID), data)
}

// update applies fn to the record of id (nil if none) and writes the
// result unless fn returns nil.
func (s *store) update(id string, fn func(*record) *record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.read(id)
	if err != nil {
		return err
	}
	if r = fn(r); r == nil {
		return nil
	}
	return s.write(r)
}

// appendLog adds a boot line to the record of id, if it still exists.
func (s *store) appendLog(id, text string) error {
	return s.update(id, func(r *record) *record {
		if r == nil {
			return nil
		}
		r.Logs = appendLine(r.Logs, text)
		return r
	})
}

// appendLine appends a line numbered after the last one, keeping at most
// maxLogLines.
func appendLine(lines []logLine, text string) []logLine {
	var seq int64 = 1
	if n := len(lines); n > 0 {
		seq = lines[n-1].Seq + 1
	}
	lines = append(lines, logLine{Seq: seq, Time: time.Now().UTC(), Text: text})
	if len(lines) > maxLogLines {
		lines = lines[len(lines)-maxLogLines:]
	}
	return lines
}

func (s *store) remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := os.Remove(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// ids lists the workspace ids with a record, sorted.
func (s *store) ids() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(name, recordPrefix) && strings.HasSuffix(name, ".json") {
			ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(name, recordPrefix), ".json"))
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// writeFileAtomic writes data to a temp file beside path and renames it
// over path.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
