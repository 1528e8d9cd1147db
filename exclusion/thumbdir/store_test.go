package thumbdir

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
)

func TestPutGetDelete(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "th")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetThumbnails(ctx, "ABC"); !errors.Is(err, exclusion.ErrNotFound) {
		t.Fatalf("get before put: %v, want ErrNotFound", err)
	}
	for _, v := range [][]byte{[]byte("one"), []byte("two")} {
		if err := s.PutThumbnails(ctx, "ABC", v); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetThumbnails(ctx, "ABC")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("get %q, %v; want %q", got, err, v)
		}
	}
	if err := s.DeleteThumbnails(ctx, "ABC"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteThumbnails(ctx, "ABC"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.GetThumbnails(ctx, "ABC"); !errors.Is(err, exclusion.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("%d files left in the directory", len(ents))
	}
}

func TestBadIDs(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ name, id string }{
		{"empty", ""},
		{"parent", "../x"},
		{"slash", "a/b"},
		{"dot", "a.b"},
		{"too long", string(bytes.Repeat([]byte("a"), 65))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.PutThumbnails(ctx, tc.id, []byte("x")); !errors.Is(err, ErrBadID) {
				t.Errorf("put: %v", err)
			}
			if _, err := s.GetThumbnails(ctx, tc.id); !errors.Is(err, ErrBadID) {
				t.Errorf("get: %v", err)
			}
			if err := s.DeleteThumbnails(ctx, tc.id); !errors.Is(err, ErrBadID) {
				t.Errorf("delete: %v", err)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutThumbnails(context.Background(), "A", make([]byte, MaxFileBytes+1)); err == nil {
		t.Error("put of an oversized file succeeded")
	}
}
