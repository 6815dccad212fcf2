package config

import (
	"github.com/riskpipe/riskpipe/internal/score"

	"gopkg.in/yaml.v3"
)

// Score holds the attack-factor model's knobs (docs/attack-factor.md); a
// key left out keeps score.DefaultConfig's value.
type Score = score.Config

// score decodes the score block: durations, numbers and a weights mapping
// whose keys are score's weight keys.
func (d *decoder) score(n *yaml.Node, path string, c *score.Config) {
	d.mapping(n, path, map[string]field{
		"half_life":            d.duration(&c.HalfLife),
		"population_window":    d.duration(&c.PopulationWindow),
		"first_sign_in_window": d.duration(&c.FirstSignInWindow),
		"refresh_every":        d.duration(&c.RefreshEvery),
		"material_change":      d.number(&c.MaterialChange),
		"weights": func(n *yaml.Node, p string) {
			fields := map[string]field{}
			w := map[string]float64{}
			for _, k := range score.WeightKeys() {
				v := new(float64)
				fields[k] = func(n *yaml.Node, p string) {
					d.number(v)(n, p)
					w[k] = *v
				}
			}
			d.mapping(n, p, fields)
			if len(w) > 0 {
				c.Weights = w
			}
		},
	})
}

// validateScore reports the model's own checks (negative durations or
// weights) at the score key.
func (v *validator) score(c score.Config) {
	if err := c.Validate(); err != nil {
		v.ps.add("score", err.Error())
	}
}
