package score

// Band is the range of scores of one level: From <= score < To (To is 100
// and inclusive for the highest level).
type Band struct {
	Level string  `json:"level"`
	From  float64 `json:"from"`
	To    float64 `json:"to"`
}

// Table lists the levels from low to critical with their score ranges,
// for legends (docs/attack-factor.md, "Levels"). A zero Bands is
// DefaultBands.
func (b Bands) Table() []Band {
	if b == (Bands{}) {
		b = DefaultBands()
	}
	return []Band{
		{Level: LevelLow, From: 0, To: b.Medium},
		{Level: LevelMedium, From: b.Medium, To: b.High},
		{Level: LevelHigh, From: b.High, To: b.Critical},
		{Level: LevelCritical, From: b.Critical, To: 100},
	}
}
