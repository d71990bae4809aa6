package conformance

import (
	"fmt"
	"strings"
)

// lineDiff returns a unified-style summary of the line changes from a to b
// (an LCS diff; matrices are small), at most max changed lines.
func lineDiff(a, b []string, max int) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max2(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	changed := 0
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			i, j = i+1, j+1
			continue
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			changed++
			if len(out) < max {
				out = append(out, fmt.Sprintf("-%d: %s", i+1, a[i]))
			}
			i++
		default:
			changed++
			if len(out) < max {
				out = append(out, fmt.Sprintf("+%d: %s", j+1, b[j]))
			}
			j++
		}
	}
	if changed > len(out) {
		out = append(out, fmt.Sprintf("... and %d more changed lines", changed-len(out)))
	}
	return fmt.Sprintf("%d line(s) differ (- committed, + generated):\n%s", changed, strings.Join(out, "\n"))
}

func max2(x, y int) int {
	if x > y {
		return x
	}
	return y
}
