package cplocal

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// withFaults applies the latency and error-rate knobs to workspace routes.
// Half of the injected 503s are answered after the request took effect, as
// when a real answer is lost on the way back: clients must retry safely.
func (s *Server) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.currentFaults()
		if f.Latency > 0 {
			t := time.NewTimer(f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
			if rand.IntN(2) == 1 {
				next.ServeHTTP(discardWriter{h: http.Header{}}, r)
			}
			writeError(w, http.StatusServiceUnavailable, "unavailable", "The control plane is unavailable (injected fault); retry.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// discardWriter swallows an answer whose loss is being simulated.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

func (s *Server) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetFaults replaces the fault knobs.
func (s *Server) SetFaults(f Faults) error {
	if err := f.check(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	return nil
}

// failBoot decides whether a boot of runtime fails by injection.
func (s *Server) failBoot(runtime string) bool {
	f := s.currentFaults()
	if f.FailBoot == "" {
		return false
	}
	if rate, ok := f.failBootRate(); ok {
		return rand.Float64() < rate
	}
	return f.FailBoot == runtime
}

func (s *Server) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.currentFaults())
}

func (s *Server) handlePostFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if !decode(w, r, &f) {
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid faults: "+err.Error()+".")
		return
	}
	writeJSON(w, http.StatusOK, f)
}
