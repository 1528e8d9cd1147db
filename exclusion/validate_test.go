package exclusion_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestNormalizeURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower scheme and host", "HTTPS://Example.COM/Path/IMG.jpg", "https://example.com/Path/IMG.jpg"},
		{"default https port", "https://example.com:443/a.jpg", "https://example.com/a.jpg"},
		{"default http port", "http://example.com:80/a.jpg", "http://example.com/a.jpg"},
		{"other port kept", "http://example.com:8080/a.jpg", "http://example.com:8080/a.jpg"},
		{"port 443 on http kept", "http://example.com:443/a.jpg", "http://example.com:443/a.jpg"},
		{"fragment dropped", "https://example.com/a.jpg#section", "https://example.com/a.jpg"},
		{"trailing dot", "https://example.com./a.jpg", "https://example.com/a.jpg"},
		{"empty path", "https://example.com", "https://example.com/"},
		{"query kept with case", "https://example.com/a.jpg?Size=L&x=Y", "https://example.com/a.jpg?Size=L&x=Y"},
		{"escaping kept", "https://example.com/a%20b.jpg", "https://example.com/a%20b.jpg"},
		{"user info dropped", "https://user:pw@example.com/a.jpg", "https://example.com/a.jpg"},
		{"IPv6", "http://[2001:DB8::1]:80/a.jpg", "http://[2001:db8::1]/a.jpg"},
		{"spaces trimmed", "  https://example.com/a.jpg \n", "https://example.com/a.jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := exclusion.NormalizeURL(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("NormalizeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"relative", "/a.jpg"},
		{"no scheme", "example.com/a.jpg"},
		{"ftp", "ftp://example.com/a.jpg"},
		{"javascript", "javascript:alert(1)"},
		{"data", "data:image/png;base64,AAAA"},
		{"no host", "https:///a.jpg"},
		{"only dots", "https://.../a.jpg"},
		{"bad port", "https://example.com:99999/a.jpg"},
		{"port zero", "https://example.com:0/a.jpg"},
		{"control character", "https://example.com/a\x00.jpg"},
		{"too long", "https://example.com/" + strings.Repeat("a", exclusion.MaxURLLen)},
		{"opaque", "https:example.com"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.name, func(t *testing.T) {
			if got, err := exclusion.NormalizeURL(tt.in); !errors.Is(err, exclusion.ErrURL) {
				t.Fatalf("NormalizeURL(%q) = %q, %v; want ErrURL", tt.in, got, err)
			}
		})
	}
}

func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"https://Example.com:443/a?b#c", "http://[::1]:80", "https://x./%zz", "http://a@b@c/", "https://example.com:/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := exclusion.NormalizeURL(s)
		if err != nil {
			if !errors.Is(err, exclusion.ErrURL) {
				t.Fatalf("error %v does not wrap ErrURL", err)
			}
			return
		}
		if !strings.HasPrefix(n, "http://") && !strings.HasPrefix(n, "https://") || strings.Contains(n, "#") {
			t.Fatalf("NormalizeURL(%q) = %q", s, n)
		}
		n2, err := exclusion.NormalizeURL(n)
		if err != nil || n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, n, n2, err)
		}
	})
}

func TestCountries(t *testing.T) {
	codes := exclusion.CountryCodes()
	if len(codes) != 249 {
		t.Fatalf("%d codes, ISO 3166-1 assigns 249", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Fatal("codes not sorted")
	}
	for _, c := range codes {
		if got, ok := exclusion.NormalizeCountry(strings.ToLower(c)); !ok || got != c {
			t.Fatalf("%s not recognised", c)
		}
	}
	for _, c := range []string{"", "D", "DEU", "EU", "UK", "XK", "ZZ", "AA", "Ä1", "d€"} {
		if _, ok := exclusion.NormalizeCountry(c); ok {
			t.Errorf("%q accepted", c)
		}
	}
}

func TestDecodeSubmission(t *testing.T) {
	png := photo(person(1))
	good := `{"kind":"face","country":"DE","reason":"r","name":"n","email":"a@example.org","phone":"+4915123456789","photos":[{"data":"` + base64.StdEncoding.EncodeToString(png) + `"}]}`
	tests := []struct {
		name   string
		in     string
		fields []string
	}{
		{"valid", good, nil},
		{"not JSON", "hello", []string{"request"}},
		{"unknown field", `{"kind":"face","bogus":1}`, []string{"request"}},
		{"wrong type", `{"kind":"face","threshold":"high"}`, []string{"threshold"}},
		{"trailing data", good + `{}`, []string{"request"}},
		{"invalid fields", `{"kind":"image","country":"de","reason":"r","name":"n","email":"nope","phone":"+1","urls":["gopher://x"]}`, []string{"email", "phone", "urls[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := exclusion.DecodeSubmission(strings.NewReader(tt.in))
			if tt.fields == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(s.Photos[0].Data, png) {
					t.Fatal("photo data lost")
				}
				return
			}
			var ve *exclusion.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, exclusion.ErrInvalidRequest) {
				t.Fatalf("error %v", err)
			}
			if !slices.Equal(ve.Fields(), tt.fields) {
				t.Fatalf("fields %v, want %v (%v)", ve.Fields(), tt.fields, err)
			}
		})
	}
}

func FuzzDecodeSubmission(f *testing.F) {
	f.Add(`{"kind":"face","country":"DE","reason":"r","name":"n","email":"a@example.org","phone":"+4915123456789","photos":[{"data":"iVBORw0KGgo=","face":{"Min":{"X":1,"Y":2},"Max":{"X":3,"Y":4}}}]}`)
	f.Add(`{"kind":"image","country":"fr","reason":"r","name":"n","email":"a@b.fr","phone":"+33612345678","urls":["HTTPS://A.B:443/x#y"],"threshold":0.5}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := exclusion.DecodeSubmission(strings.NewReader(in))
		if err != nil {
			var ve *exclusion.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || !errors.Is(err, exclusion.ErrInvalidRequest) {
				t.Fatalf("error %v is not a non-empty *ValidationError", err)
			}
			return
		}
		if exclusion.Validate(s) != nil {
			t.Fatal("decoded submission fails validation")
		}
		if _, err := json.Marshal(s); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSubmitPhoto feeds arbitrary bytes as a photo: Submit answers with a
// request or an error, never a panic, and stores nothing on error.
func FuzzSubmitPhoto(f *testing.F) {
	f.Add(photo(person(1)))
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*"))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xff\xff\xff\xff\xff\xff\xff\x08\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reg, st := newRegistry(t, &exclusiontest.Embedder{})
		_, err := reg.Submit(ctx, faceSubmission(data), "fuzz")
		if err != nil {
			stats, serr := st.Stats(ctx)
			if serr != nil || stats.Total() != 0 {
				t.Fatalf("error %v but stored %+v (%v)", err, stats, serr)
			}
		}
	})
}
