package api

import (
	"testing"

	"github.com/riskpipe/riskpipe/internal/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }
