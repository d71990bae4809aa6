package cplocal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// consolePoll is how often a followed console checks for new output.
const consolePoll = 50 * time.Millisecond

func (s *Server) handleConsole(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	offset, err1 := intParam(q.Get("offset"))
	tail, err2 := intParam(q.Get("tail"))
	follow := q.Get("follow") == "true"
	if err := errors.Join(err1, err2); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "offset and tail must be non-negative integers.")
		return
	}
	s.mu.Lock()
	in, ok := s.insts[id]
	var instanceID string
	if ok {
		instanceID = in.InstanceID
	}
	s.mu.Unlock()
	if !ok {
		writeNoInstance(w, id)
		return
	}
	path := filepath.Join(s.instanceDir(instanceID), consoleFile)
	if q.Get("offset") == "" && tail > 0 {
		offset = tailOffset(path, int(tail))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Console-Offset", strconv.FormatInt(offset, 10))
	w.WriteHeader(http.StatusOK)
	offset = copyFrom(w, path, offset)
	if !follow {
		return
	}
	s.followConsole(w, r, id, instanceID, path, offset)
}

// followConsole streams new console output until the client goes away or
// the instance is stopped or terminated (and its output drained).
func (s *Server) followConsole(w http.ResponseWriter, r *http.Request, workspaceID, instanceID, path string, offset int64) {
	flusher, _ := w.(http.Flusher)
	t := time.NewTicker(consolePoll)
	defer t.Stop()
	for {
		if flusher != nil {
			flusher.Flush()
		}
		s.mu.Lock()
		in, ok := s.insts[workspaceID]
		done := !ok || in.InstanceID != instanceID || in.State == StateStopped
		s.mu.Unlock()
		offset = copyFrom(w, path, offset)
		if done {
			if flusher != nil {
				flusher.Flush()
			}
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
	}
}

// copyFrom writes path's content from offset to w and returns the new
// offset. A missing file has no content yet.
func copyFrom(w io.Writer, path string, offset int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return offset
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset
	}
	n, _ := io.Copy(w, f)
	return offset + n
}

// tailOffset returns the offset of the last n lines of path (reading at
// most its last 4 MiB).
func tailOffset(path string, n int) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0
	}
	start := max(st.Size()-4<<20, 0)
	buf := make([]byte, st.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return 0
	}
	end := len(buf)
	if end > 0 && buf[end-1] == '\n' {
		end-- // the final newline ends the last line; it does not start one
	}
	for i := 0; i < n; i++ {
		j := bytes.LastIndexByte(buf[:end], '\n')
		if j < 0 {
			return start
		}
		end = j
	}
	return start + int64(end) + 1
}

func intParam(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a non-negative integer", s)
	}
	return v, nil
}
