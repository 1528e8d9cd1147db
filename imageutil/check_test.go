package imageutil

// Minimal fatal assertions for the tests. (testify is listed in go.mod but
// its own dependencies are not in go.sum; these few helpers avoid touching
// the shared module files.)

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func msg(args []any) string {
	if len(args) == 0 {
		return ""
	}
	if f, ok := args[0].(string); ok {
		return ": " + fmt.Sprintf(f, args[1:]...)
	}
	return ": " + fmt.Sprint(args...)
}

func noError(t testing.TB, err error, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error %v%s", err, msg(args))
	}
}

func equal(t testing.TB, want, got any, args ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("got %v, want %v%s", got, want, msg(args))
	}
}

func errorIs(t testing.TB, err, target error, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want errors.Is %v%s", err, target, msg(args))
	}
}

func notErrorIs(t testing.TB, err, target error, args ...any) {
	t.Helper()
	if errors.Is(err, target) {
		t.Fatalf("error %v, want not errors.Is %v%s", err, target, msg(args))
	}
}

func limitError(t testing.TB, err error) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("error %v (%T), want a *LimitError", err, err)
	}
	return le
}

func isTrue(t testing.TB, ok bool, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf("false%s", msg(args))
	}
}

func atMost[T cmp.Ordered](t testing.TB, got, limit T, args ...any) {
	t.Helper()
	if got > limit {
		t.Fatalf("got %v, want at most %v%s", got, limit, msg(args))
	}
}
