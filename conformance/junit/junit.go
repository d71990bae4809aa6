// Package junit writes JUnit XML reports, the format CI systems read test
// results in. It knows nothing of the conformance suite; it must not import
// any package of this module.
package junit

import (
	"encoding/xml"
	"fmt"
	"io"
	"time"
)

// Suite is one <testsuite>: a named group of cases.
type Suite struct {
	Name      string
	Timestamp time.Time
	Cases     []Case
	// Properties are written as <property name= value=> pairs, in order.
	Properties [][2]string
}

// Case is one <testcase>. At most one of Failure and Skipped is set; a
// case with neither passed.
type Case struct {
	Name      string
	Classname string
	Duration  time.Duration
	Failure   string // the failure message; "" when the case did not fail
	Skipped   string // why the case was skipped; "" when it ran
}

type xmlSuites struct {
	XMLName xml.Name   `xml:"testsuites"`
	Suites  []xmlSuite `xml:"testsuite"`
}

type xmlSuite struct {
	Name       string        `xml:"name,attr"`
	Tests      int           `xml:"tests,attr"`
	Failures   int           `xml:"failures,attr"`
	Errors     int           `xml:"errors,attr"`
	Skipped    int           `xml:"skipped,attr"`
	Time       string        `xml:"time,attr"`
	Timestamp  string        `xml:"timestamp,attr,omitempty"`
	Properties []xmlProperty `xml:"properties>property,omitempty"`
	Cases      []xmlCase     `xml:"testcase"`
}

type xmlProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xmlCase struct {
	Name      string      `xml:"name,attr"`
	Classname string      `xml:"classname,attr"`
	Time      string      `xml:"time,attr"`
	Failure   *xmlMessage `xml:"failure,omitempty"`
	Skipped   *xmlMessage `xml:"skipped,omitempty"`
}

type xmlMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// Write writes suites as one <testsuites> document to w.
func Write(w io.Writer, suites ...Suite) error {
	doc := xmlSuites{}
	for _, s := range suites {
		doc.Suites = append(doc.Suites, convert(s))
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func convert(s Suite) xmlSuite {
	xs := xmlSuite{Name: s.Name, Tests: len(s.Cases)}
	if !s.Timestamp.IsZero() {
		xs.Timestamp = s.Timestamp.UTC().Format("2006-01-02T15:04:05")
	}
	for _, p := range s.Properties {
		xs.Properties = append(xs.Properties, xmlProperty{Name: p[0], Value: p[1]})
	}
	var total time.Duration
	for _, c := range s.Cases {
		total += c.Duration
		xc := xmlCase{Name: c.Name, Classname: c.Classname, Time: seconds(c.Duration)}
		switch {
		case c.Failure != "":
			xs.Failures++
			xc.Failure = &xmlMessage{Message: firstLine(c.Failure), Body: c.Failure}
		case c.Skipped != "":
			xs.Skipped++
			xc.Skipped = &xmlMessage{Message: c.Skipped}
		}
		xs.Cases = append(xs.Cases, xc)
	}
	xs.Time = seconds(total)
	return xs
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
