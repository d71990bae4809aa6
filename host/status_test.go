package host

import "testing"

func TestCanTransition(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		from, to Status
		want     bool
	}{
		"provision ok":             {StatusProvisioning, StatusOnline, true},
		"provision fails":          {StatusProvisioning, StatusFailed, true},
		"online goes offline":      {StatusOnline, StatusOffline, true},
		"offline comes back":       {StatusOffline, StatusOnline, true},
		"stopped cannot be online": {StatusStopped, StatusOnline, false},
		"failed cannot be online":  {StatusFailed, StatusOnline, false},
		"removed is terminal":      {StatusRemoved, StatusProvisioning, false},
		"removed not rewritten":    {StatusRemoved, StatusRemoved, false},
		"same status refreshes":    {StatusFailed, StatusFailed, true},
		"restart from stopped":     {StatusStopped, StatusProvisioning, true},
		"unknown from":             {Status("bogus"), StatusOnline, false},
		"unknown to":               {StatusOnline, Status("hibernating"), false},
		"anything can be removed":  {StatusPaused, StatusRemoved, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := CanTransition(tc.from, tc.to); got != tc.want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
			}
			err := CheckTransition(tc.from, tc.to)
			if (err == nil) != tc.want {
				t.Errorf("CheckTransition(%s, %s) = %v", tc.from, tc.to, err)
			}
		})
	}
}

func TestEveryStatusHasARow(t *testing.T) {
	t.Parallel()
	for _, s := range Statuses {
		if !s.Valid() {
			t.Errorf("status %s has no row in the transition table", s)
		}
		if s != StatusRemoved && !CanTransition(s, StatusRemoved) {
			t.Errorf("status %s cannot be removed", s)
		}
	}
	if len(transitions) != len(Statuses) {
		t.Errorf("transition table has %d rows, want %d", len(transitions), len(Statuses))
	}
}
