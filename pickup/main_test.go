package pickup

import (
	"testing"

	"groupbuy/internal/platform/platformtest"
)

func TestMain(m *testing.M) { platformtest.Main(m) }
