package bench

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Stat summarises one metric over several runs.
type Stat struct {
	Median, Min, Max float64
	N                int
}

// Summarize returns the median (the mean of the middle two for an even
// count), minimum and maximum of xs.
func Summarize(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Of summarises f over rs.
func Of[T any](rs []T, f func(T) float64) Stat {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return Summarize(xs)
}

// Format prints the median with prec decimals and, for several runs, the
// range: "6,512 (6,100–6,900)".
func (s Stat) Format(prec int) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 || s.Min == s.Max {
		return Num(s.Median, prec)
	}
	return fmt.Sprintf("%s (%s–%s)", Num(s.Median, prec), Num(s.Min, prec), Num(s.Max, prec))
}

// Num formats v with prec decimals and thousands separators.
func Num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// MB is bytes in MB (10^6), for RSS columns.
func MB(b int64) float64 { return float64(b) / 1e6 }

// Table is a result table, printed as Markdown (readable in a terminal).
type Table struct {
	Header []string
	Rows   [][]string
}

// Add appends a row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Markdown renders t as a Markdown table with aligned columns.
func (t *Table) Markdown() string {
	w := make([]int, len(t.Header))
	for i, h := range t.Header {
		w[i] = len([]rune(h))
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(w) {
				w[i] = max(w[i], len([]rune(c)))
			}
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i := range w {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + c + strings.Repeat(" ", w[i]-len([]rune(c))) + " |")
		}
		b.WriteString("\n")
	}
	line(t.Header)
	b.WriteString("|")
	for i := range w {
		b.WriteString(" " + strings.Repeat("-", w[i]) + " |")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// UpdateSection replaces the text between the markers
// "<!-- riskbench:NAME -->" and "<!-- /riskbench:NAME -->" in the file at
// path with body, appending the marked section when the file lacks it
// (creating the file when missing). Text outside the markers is kept.
func UpdateSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	open, end := "<!-- riskbench:"+name+" -->", "<!-- /riskbench:"+name+" -->"
	block := open + "\n" + strings.TrimRight(body, "\n") + "\n" + end
	var out []byte
	i := bytes.Index(old, []byte(open))
	j := bytes.Index(old, []byte(end))
	switch {
	case i >= 0 && j > i:
		out = append(append(append([]byte{}, old[:i]...), block...), old[j+len(end):]...)
	case i >= 0 || j >= 0:
		return fmt.Errorf("%s: section %s has only one of its markers", path, name)
	default:
		out = append([]byte{}, old...)
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n\n")) {
			out = append(bytes.TrimRight(out, "\n"), "\n\n"...)
		}
		out = append(out, block...)
		out = append(out, '\n')
	}
	return os.WriteFile(path, out, 0o644)
}
