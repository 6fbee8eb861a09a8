package main

import (
	"testing"

	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
