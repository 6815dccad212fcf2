package score

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// element is one term of a user's weighted sum: a signal, the signals of
// one transaction (worth their strongest), or the ITP level.
type element struct {
	v  float64 // decayed weight at the evaluation time
	wk wkey    // weight key of the strongest member
	id string  // event id of the strongest member
	tx string  // transaction id, "" when not grouped
	n  int     // events in it
}

// decay is the factor a weight keeps after age.
func (e *Engine) decay(age time.Duration) float64 {
	if age <= 0 {
		return 1
	}
	return math.Exp2(-float64(age) / float64(e.cfg.HalfLife))
}

// eval computes the weighted sum x of u at t from the signals published at
// or before t and after t − Horizon, and the signal count within the population window. The
// elements, sorted strongest first, are left in e.elems.
//
// x = Σ_k RepeatFactor^k · v_k over the elements sorted by v descending,
// where v is weight · 2^(−age/HalfLife). The sum does not depend on the
// order signals arrived in, and it never decreases when an element's v
// grows (the sorted weighted sum with non-increasing coefficients is
// monotone in each element).
func (e *Engine) eval(u *user, t time.Time) (x float64, signals uint32) {
	elems := e.elems[:0]
	winStart := t.Add(-e.cfg.PopulationWindow)
	horizon := t.Add(-e.cfg.Horizon)
	for i := range u.sigs {
		s := &u.sigs[i]
		if s.p.After(t) || !s.p.After(horizon) {
			continue
		}
		w, wk := e.weight(u, s.wk, s.dyn, s.p)
		if w <= 0 {
			continue
		}
		if s.p.After(winStart) {
			signals++
		}
		el := element{v: w * e.decay(t.Sub(s.p)), wk: wk, id: s.id, tx: s.tx, n: 1}
		if s.tx != "" {
			j := slices.IndexFunc(elems, func(o element) bool { return o.tx == s.tx })
			if j >= 0 {
				o := &elems[j]
				o.n++
				if stronger(&el, o) {
					o.v, o.wk, o.id = el.v, el.wk, el.id
				}
				continue
			}
		}
		elems = append(elems, el)
	}
	if st := u.itpAt(t); st != nil && st.p.After(horizon) && e.w[st.wk] > 0 {
		elems = append(elems, element{v: e.w[st.wk] * e.decay(t.Sub(st.p)), wk: st.wk, id: st.id, n: 1})
	}
	for i := range u.itp {
		ev := &u.itp[i]
		if !ev.p.After(t) && ev.p.After(winStart) && e.w[ev.wk] > 0 {
			signals++
		}
	}
	slices.SortFunc(elems, func(a, b element) int {
		if stronger(&a, &b) {
			return -1
		}
		if stronger(&b, &a) {
			return 1
		}
		return 0
	})
	f := 1.0
	for i := range elems {
		x += f * elems[i].v
		f *= e.cfg.RepeatFactor
	}
	e.elems = elems
	return x, signals
}

// stronger orders elements: larger v, then smaller weight key, then
// smaller id. Equal v gives equal sums whatever the tie-break; it only
// makes explanations deterministic.
func stronger(a, b *element) bool {
	if a.v != b.v {
		return a.v > b.v
	}
	if a.wk != b.wk {
		return a.wk < b.wk
	}
	return a.id < b.id
}

// scoreOf maps the weighted sum to 0-100, rounded to 2 decimals.
func (e *Engine) scoreOf(x float64) float64 {
	return round2(-100 * math.Expm1(-x/e.cfg.Scale))
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// ranking is the org's population at one time.
type ranking struct {
	pop    int       // users in the population
	zero   int       // of which with score 0
	scores []float64 // the others' scores, ascending
}

// rank scores every user at t (cached in the users) and ranks the
// population: the users first seen at or before t and either seen after
// t − PopulationWindow or with a score above 0.
func (e *Engine) rank(t time.Time) ranking {
	rk := ranking{scores: e.scores[:0]}
	window := t.Add(-e.cfg.PopulationWindow)
	for _, u := range e.users {
		u.score, u.signals = 0, 0
		if len(u.sigs) > 0 || len(u.itp) > 0 {
			x, n := e.eval(u, t)
			u.score, u.signals = e.scoreOf(x), n
		}
		if u.first.After(t) || (!u.last.After(window) && u.score == 0) {
			continue
		}
		rk.pop++
		if u.score == 0 {
			rk.zero++
		} else {
			rk.scores = append(rk.scores, u.score)
		}
	}
	sort.Float64s(rk.scores)
	e.scores = rk.scores
	return rk
}

// percentile is the percentage of the population with a score strictly
// below score.
func (rk ranking) percentile(score float64) float64 {
	if score == 0 || rk.pop == 0 {
		return 0
	}
	lower := rk.zero + sort.SearchFloat64s(rk.scores, score)
	return round2(100 * float64(lower) / float64(rk.pop))
}

// factor is u's factor at t (rank must have run at t); explain adds the
// explanation.
func (e *Engine) factor(u *user, t time.Time, rk ranking, explain bool) Factor {
	f := Factor{
		UserID: u.key, UserLogin: u.login,
		Score: u.score, Percentile: rk.percentile(u.score),
		Level: e.cfg.Bands.Level(u.score), Signals: u.signals,
	}
	if explain {
		e.explain(u, t, &f)
	}
	return f
}

// maxExplained is how many weight keys an explanation names.
const maxExplained = 3

// explain sets f.Explanation: the weight keys contributing most to the
// sum at t, with their share of it and, when more than one, their event
// count: "leaked_credentials 67%; threat_insight x2 33%".
func (e *Engine) explain(u *user, t time.Time, f *Factor) {
	f.Explanation = ""
	x, _ := e.eval(u, t)
	if x <= 0 {
		return
	}
	type share struct {
		wk wkey
		c  float64
		n  int
	}
	var shares []share
	c := 1.0
	for _, el := range e.elems {
		i := slices.IndexFunc(shares, func(s share) bool { return s.wk == el.wk })
		if i < 0 {
			shares = append(shares, share{wk: el.wk})
			i = len(shares) - 1
		}
		shares[i].c += c * el.v
		shares[i].n += el.n
		c *= e.cfg.RepeatFactor
	}
	slices.SortStableFunc(shares, func(a, b share) int {
		if r := cmp.Compare(b.c, a.c); r != 0 {
			return r
		}
		return cmp.Compare(a.wk, b.wk)
	})
	var b strings.Builder
	for i, s := range shares {
		if i == maxExplained {
			fmt.Fprintf(&b, "; +%d more", len(shares)-maxExplained)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s.wk.String())
		if s.n > 1 {
			fmt.Fprintf(&b, " x%d", s.n)
		}
		fmt.Fprintf(&b, " %.0f%%", 100*s.c/x)
	}
	f.Explanation = b.String()
}
