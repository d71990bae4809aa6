package junit_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/molecule-ai/molecule-host/conformance/junit"
)

func TestWriteCountsAndElements(t *testing.T) {
	var buf bytes.Buffer
	err := junit.Write(&buf, junit.Suite{
		Name: "fake",
		Cases: []junit.Case{
			{Name: "lifecycle.create", Classname: "fake.lifecycle", Duration: 1500 * time.Millisecond},
			{Name: "lifecycle.stop", Classname: "fake.lifecycle", Duration: 500 * time.Millisecond, Failure: "status stayed online\nmore detail"},
			{Name: "bootstrap.boot_log", Classname: "fake.bootstrap", Skipped: "skip-not-declared: feature bootstrap.boot_log"},
		},
		Properties: [][2]string{{"backend.version", "1.0.0"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not XML: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("got %d suites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	got := []any{s.Name, s.Tests, s.Failures, s.Skipped, s.Time}
	if d := cmp.Diff([]any{"fake", 3, 1, 1, "2.000"}, got); d != "" {
		t.Errorf("suite attributes (-want +got):\n%s", d)
	}
	if s.Cases[1].Failure == nil || s.Cases[1].Failure.Message != "status stayed online" || !strings.Contains(s.Cases[1].Failure.Body, "more detail") {
		t.Errorf("failure element wrong: %+v", s.Cases[1].Failure)
	}
	if s.Cases[2].Skipped == nil || s.Cases[0].Failure != nil || s.Cases[0].Skipped != nil {
		t.Errorf("skipped/passed elements wrong: %s", buf.String())
	}
}
