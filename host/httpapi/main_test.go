package httpapi_test

import (
	"testing"

	"github.com/molecule-ai/molecule-host/host/store/storetest"
)

// TestMain stops the package's throwaway Postgres cluster at exit.
func TestMain(m *testing.M) { storetest.Main(m) }
