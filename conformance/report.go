package conformance

import (
	"io"
	"strconv"
	"time"

	"github.com/molecule-ai/molecule-host/conformance/junit"
)

// WriteJUnit writes r as one JUnit test suite named after the backend:
// one case per scenario, skip-not-declared scenarios as <skipped/>, and a
// failing leak check as an extra failed case "leak-check".
func WriteJUnit(w io.Writer, r *Results) error {
	s := junit.Suite{
		Name:      "conformance." + r.Backend.Name,
		Timestamp: r.StartedAt,
		Properties: [][2]string{
			{"backend.name", r.Backend.Name},
			{"backend.version", r.Backend.Version},
			{"backend.protocol", strconv.Itoa(r.Backend.Protocol)},
			{"schema", r.Schema},
		},
	}
	for _, sc := range r.Scenarios {
		c := junit.Case{Name: sc.ID, Classname: r.Backend.Name + "." + sc.Area,
			Duration: time.Duration(sc.DurationMS) * time.Millisecond}
		switch sc.Outcome {
		case OutcomeFail:
			c.Failure = sc.Error
		case OutcomeSkip:
			c.Skipped = string(OutcomeSkip) + ": " + sc.Error
		}
		s.Cases = append(s.Cases, c)
	}
	leak := junit.Case{Name: "leak-check", Classname: r.Backend.Name + ".leaks"}
	for _, l := range r.Leaks {
		leak.Failure += "left behind: " + l.WorkspaceID + " (" + l.State + ")\n"
	}
	s.Cases = append(s.Cases, leak)
	return junit.Write(w, s)
}
