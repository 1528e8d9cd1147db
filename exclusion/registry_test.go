package exclusion_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/faceoptout/faceoptout/embed"
	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/exclusion/exclusiontest"
)

func TestSubmitValidation(t *testing.T) {
	good := photo(person(1))
	tests := []struct {
		name   string
		mutate func(s *exclusion.Submission)
		fields []string
	}{
		{"valid", func(s *exclusion.Submission) {}, nil},
		{"bad country", func(s *exclusion.Submission) { s.Country = "XX" }, []string{"country"}},
		{"reserved country EU", func(s *exclusion.Submission) { s.Country = "EU" }, []string{"country"}},
		{"missing country", func(s *exclusion.Submission) { s.Country = "" }, []string{"country"}},
		{"bad email", func(s *exclusion.Submission) { s.Email = "jane at example.org" }, []string{"email"}},
		{"email with display name", func(s *exclusion.Submission) { s.Email = "Jane <jane@example.org>" }, []string{"email"}},
		{"email without domain dot", func(s *exclusion.Submission) { s.Email = "jane@localhost" }, []string{"email"}},
		{"phone not E.164", func(s *exclusion.Submission) { s.Phone = "0151 2345678" }, []string{"phone"}},
		{"phone with spaces", func(s *exclusion.Submission) { s.Phone = "+49 151 2345678" }, []string{"phone"}},
		{"phone too long", func(s *exclusion.Submission) { s.Phone = "+1234567890123456" }, []string{"phone"}},
		{"missing name and reason", func(s *exclusion.Submission) { s.Name, s.Reason = " ", "" }, []string{"reason", "name"}},
		{"name too long", func(s *exclusion.Submission) { s.Name = strings.Repeat("x", exclusion.MaxNameLen+1) }, []string{"name"}},
		{"control characters", func(s *exclusion.Submission) { s.Name = "Jane\x00Doe" }, []string{"name"}},
		{"no photos", func(s *exclusion.Submission) { s.Photos = nil }, []string{"photos"}},
		{"empty photo", func(s *exclusion.Submission) { s.Photos[0].Data = nil }, []string{"photos[0]"}},
		{"undecodable photo", func(s *exclusion.Submission) { s.Photos[0].Data = []byte("not an image") }, []string{"photos[0]"}},
		{"too many photos", func(s *exclusion.Submission) {
			for range exclusion.MaxPhotos {
				s.Photos = append(s.Photos, exclusion.Photo{Data: good})
			}
		}, []string{"photos"}},
		{"urls in face opt-out", func(s *exclusion.Submission) { s.URLs = []string{"https://example.org/a.jpg"} }, []string{"urls"}},
		{"bad threshold", func(s *exclusion.Submission) { s.Threshold = 3 }, []string{"threshold"}},
		{"bad kind", func(s *exclusion.Submission) { s.Kind = "both" }, []string{"kind"}},
		{"several bad fields", func(s *exclusion.Submission) { s.Country, s.Email, s.Phone = "ZZ", "x", "12" }, []string{"country", "email", "phone"}},
		{"image removal without URL", func(s *exclusion.Submission) { s.Kind, s.Photos = exclusion.ImageRemoval, nil }, []string{"urls"}},
		{"image removal bad URLs", func(s *exclusion.Submission) {
			s.Kind, s.Photos = exclusion.ImageRemoval, nil
			s.URLs = []string{"ftp://example.org/a.jpg", "https:///nohost.jpg", "https://example.org/ok.jpg", "javascript:alert(1)"}
		}, []string{"urls[0]", "urls[1]", "urls[3]"}},
		{"no face in the only photo", func(s *exclusion.Submission) { s.Photos[0].Data = photo() }, []string{"photos[0]"}},
		{"face too small", func(s *exclusion.Submission) {
			s.Photos[0].Data = photo(exclusiontest.Face{Box: image.Rect(10, 10, 40, 40), Color: exclusiontest.Person(1)})
		}, []string{"photos[0]"}},
		{"picked box overlaps no face", func(s *exclusion.Submission) {
			s.Photos[0].Face = &image.Rectangle{Min: image.Pt(150, 150), Max: image.Pt(190, 190)}
		}, []string{"photos[0].face"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, st := newRegistry(t, &exclusiontest.Embedder{})
			s := faceSubmission(good)
			tt.mutate(s)
			_, err := reg.Submit(ctx, s, "intake")
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
				return
			}
			wantErr(t, err, exclusion.ErrInvalidRequest)
			var ve *exclusion.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T, want *ValidationError", err)
			}
			if !slices.Equal(ve.Fields(), tt.fields) {
				t.Fatalf("bad fields %v, want %v (%v)", ve.Fields(), tt.fields, err)
			}
			stats, err := st.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Total() != 0 || stats.Events != 0 {
				t.Fatalf("a bad request stored something: %+v", stats)
			}
		})
	}
}

func TestWorkflow(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	f := newFilter(t, reg, emb)
	probe := photo(at(person(7), 60, 40)) // person 7 in another photo
	other := photo(person(8))

	req := mustSubmit(t, reg, faceSubmission(photo(person(7)), photo(at(person(7), 50, 50))))
	if req.Status != exclusion.Pending || len(req.EnrolledFaces()) != 2 {
		t.Fatalf("submitted %+v", req)
	}
	for _, p := range req.Photos {
		if len(p.SHA256) != 64 || p.PHash == 0 {
			t.Fatalf("photo record lacks hashes: %+v", p)
		}
	}
	wantVerdict(t, f.CheckImageBytes(ctx, probe), exclusion.Allow) // pending does not block

	mustApprove(t, reg, req.ID)
	d := f.CheckImageBytes(ctx, probe)
	wantVerdict(t, d, exclusion.Block, req.ID)
	if len(d.Faces) != 1 || d.Faces[0].Matches[0].Threshold != exclusion.DefaultBlockThreshold || d.Faces[0].Box.Empty() {
		t.Fatalf("face details: %+v", d.Faces)
	}
	wantVerdict(t, f.CheckImageBytes(ctx, other), exclusion.Allow)
	wantVerdict(t, f.CheckFaces(ctx, nil), exclusion.Allow)
	wantVerdict(t, f.CheckFaces(ctx, []embed.Descriptor{exclusiontest.Descriptor(exclusiontest.Person(7))}), exclusion.Block, req.ID)

	_, err := reg.Reject(ctx, req.ID, "reviewer", "")
	wantErr(t, err, exclusion.ErrTransition)
	_, err = reg.Approve(ctx, req.ID, "reviewer", "")
	wantErr(t, err, exclusion.ErrTransition)

	w, err := reg.Withdraw(ctx, req.ID, "requester", "changed my mind")
	if err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, f.CheckImageBytes(ctx, probe), exclusion.Allow)
	for _, p := range w.Photos {
		for _, fc := range p.Faces {
			if len(fc.Descriptors) != 0 {
				t.Fatal("withdrawal kept a descriptor")
			}
		}
	}
	stored, err := reg.Get(ctx, req.ID)
	if err != nil || stored.Status != exclusion.Withdrawn {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	_, err = reg.Approve(ctx, req.ID, "reviewer", "")
	wantErr(t, err, exclusion.ErrTransition)

	var actions []string
	for ev, err := range reg.Audit(ctx, req.ID) {
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, string(ev.Action)+":"+string(ev.To)+":"+ev.Actor)
		b, _ := json.Marshal(ev)
		if bytes.Contains(b, []byte("descriptor")) {
			t.Fatalf("audit event holds biometric data: %s", b)
		}
	}
	want := []string{"submit:pending:intake", "approve:approved:reviewer", "withdraw:withdrawn:requester"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit %v, want %v", actions, want)
	}
}

func TestRejectDeletesDescriptors(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	req := mustSubmit(t, reg, faceSubmission(photo(person(3))))
	r, err := reg.Reject(ctx, req.ID, "reviewer", "not the requester's face")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != exclusion.Rejected || r.Decided.IsZero() || len(r.EnrolledFaces()) != 0 || len(r.Photos[0].Faces[0].Descriptors) != 0 {
		t.Fatalf("rejected %+v", r)
	}
	_, err = reg.Approve(ctx, req.ID, "reviewer", "")
	wantErr(t, err, exclusion.ErrTransition)
}

func TestSeveralFaces(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	f := newFilter(t, reg, emb)
	group := photo(person(1), at(person(2), 140, 20))

	req := mustSubmit(t, reg, faceSubmission(group))
	p := req.Photos[0]
	if p.Problem != exclusion.RefusalSeveralFaces || len(p.Faces) != 2 || len(req.EnrolledFaces()) != 0 {
		t.Fatalf("photo %+v", p)
	}
	_, err := reg.Approve(ctx, req.ID, "reviewer", "")
	wantErr(t, err, exclusion.ErrNothingToBlock)

	_, err = reg.Pick(ctx, req.ID, 0, image.Rect(0, 0, 5, 5), "reviewer")
	wantErr(t, err, exclusion.ErrInvalidRequest)
	picked, err := reg.Pick(ctx, req.ID, 0, image.Rect(135, 25, 245, 115), "reviewer") // person 2, roughly
	if err != nil {
		t.Fatal(err)
	}
	if en := picked.EnrolledFaces(); len(en) != 1 || en[0].Box != at(person(2), 140, 20).Box {
		t.Fatalf("enrolled %+v", en)
	}
	approved, err := reg.Approve(ctx, req.ID, "reviewer", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, fc := range approved.Photos[0].Faces {
		if !fc.Enrolled && len(fc.Descriptors) != 0 {
			t.Fatal("approval kept an unpicked candidate's descriptor")
		}
	}
	wantVerdict(t, f.CheckImageBytes(ctx, photo(at(person(2), 30, 60))), exclusion.Block, req.ID)
	wantVerdict(t, f.CheckImageBytes(ctx, photo(at(person(1), 30, 60))), exclusion.Allow)
}

func TestPickAtSubmission(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	s := faceSubmission(photo(person(1), at(person(2), 140, 20)))
	s.Photos[0].Face = &image.Rectangle{Min: image.Pt(10, 10), Max: image.Pt(110, 110)}
	req := mustSubmit(t, reg, s)
	if en := req.EnrolledFaces(); len(en) != 1 || en[0].Box != person(1).Box {
		t.Fatalf("enrolled %+v", en)
	}
}

func TestImageRemoval(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	reg, _ := newRegistry(t, emb)
	f := newFilter(t, reg, emb)
	// a smooth grey "landscape"
	scene := image.NewNRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			v := uint8(128 + 100*math.Sin(float64(x)/37)*math.Cos(float64(y)/23))
			o := scene.PixOffset(x, y)
			copy(scene.Pix[o:o+4], []uint8{v, v, v, 255})
		}
	}
	file := exclusiontest.PNG(scene)
	s := removalSubmission("HTTPS://Example.ORG.:443/Photos/IMG_1.jpg?Size=L#top", "http://example.org/other.png")
	s.Photos = []exclusion.Photo{{Data: file}}
	req := mustSubmit(t, reg, s)
	if !slices.Equal(req.URLs, []string{"https://example.org/Photos/IMG_1.jpg?Size=L", "http://example.org/other.png"}) {
		t.Fatalf("stored URLs %v", req.URLs)
	}
	wantVerdict(t, f.CheckURL(ctx, "https://example.org/Photos/IMG_1.jpg?Size=L"), exclusion.Allow)
	mustApprove(t, reg, req.ID)

	tests := []struct {
		name string
		d    exclusion.Decision
		want exclusion.Verdict
	}{
		{"same URL", f.CheckURL(ctx, "https://example.org/Photos/IMG_1.jpg?Size=L"), exclusion.Block},
		{"URL variant", f.CheckURL(ctx, "https://EXAMPLE.org:443/Photos/IMG_1.jpg?Size=L#x"), exclusion.Block},
		{"path case differs", f.CheckURL(ctx, "https://example.org/photos/img_1.jpg?Size=L"), exclusion.Allow},
		{"query differs", f.CheckURL(ctx, "https://example.org/Photos/IMG_1.jpg?size=l"), exclusion.Allow},
		{"not a URL", f.CheckURL(ctx, "mailto:x@example.org"), exclusion.Unchecked},
		{"same bytes", f.CheckImageBytes(ctx, file), exclusion.Block},
		{"re-encoded JPEG", f.CheckImageBytes(ctx, jpegOf(t, scene, 70)), exclusion.Block},
		{"resized copy", f.CheckImageBytes(ctx, exclusiontest.PNG(imaging.Resize(scene, 160, 120, imaging.Lanczos))), exclusion.Block},
		{"other image", f.CheckImageBytes(ctx, photo()), exclusion.Allow},
		{"item with URL and faces", f.Check(ctx, exclusion.Item{URL: "http://example.org/other.png", Faces: nil}), exclusion.Block},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.d.Verdict != tt.want {
				t.Fatalf("verdict %v (%v), want %v: %+v", tt.d.Verdict, tt.d.Err, tt.want, tt.d)
			}
		})
	}
	if _, err := reg.Withdraw(ctx, req.ID, "requester", ""); err != nil {
		t.Fatal(err)
	}
	wantVerdict(t, f.CheckURL(ctx, "https://example.org/Photos/IMG_1.jpg?Size=L"), exclusion.Allow)
	wantVerdict(t, f.CheckImageBytes(ctx, file), exclusion.Allow)
}

func TestOpen(t *testing.T) {
	emb := &exclusiontest.Embedder{}
	t.Run("never created", func(t *testing.T) {
		_, err := exclusion.Open(ctx, exclusiontest.NewMemStore(), emb, exclusion.DefaultConfig())
		wantErr(t, err, exclusion.ErrNoRegistry)
	})
	t.Run("create twice", func(t *testing.T) {
		st := exclusiontest.NewMemStore()
		if _, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig()); err != nil {
			t.Fatal(err)
		}
		_, err := exclusion.Create(ctx, st, emb, exclusion.DefaultConfig())
		wantErr(t, err, exclusion.ErrExists)
	})
	t.Run("reopen keeps approvals", func(t *testing.T) {
		reg, st := newRegistry(t, emb)
		a := mustSubmit(t, reg, faceSubmission(photo(person(4))))
		mustSubmit(t, reg, faceSubmission(photo(person(5))))
		mustApprove(t, reg, a.ID)
		reg2, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if reg2.Len() != 1 {
			t.Fatalf("reopened registry blocks %d faces, want 1", reg2.Len())
		}
		f := newFilter(t, reg2, emb)
		wantVerdict(t, f.CheckImageBytes(ctx, photo(person(4))), exclusion.Block, a.ID)
		wantVerdict(t, f.CheckImageBytes(ctx, photo(person(5))), exclusion.Allow)
	})
	t.Run("corrupt record", func(t *testing.T) {
		reg, st := newRegistry(t, emb)
		a := mustSubmit(t, reg, faceSubmission(photo(person(4))))
		mustApprove(t, reg, a.ID)
		stored, _ := st.Get(ctx, a.ID)
		stored.Photos[0].Faces[0].Descriptors[exclusiontest.Model(exclusiontest.DefaultDim).ID][3] += 0.25 // bit rot
		b, _ := json.Marshal(stored)
		st.Corrupt(a.ID, b)
		_, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
		wantErr(t, err, exclusion.ErrCorrupt)
		_, err = reg.Get(ctx, a.ID)
		wantErr(t, err, exclusion.ErrCorrupt)
	})
	t.Run("unreadable record", func(t *testing.T) {
		reg, st := newRegistry(t, emb)
		a := mustSubmit(t, reg, faceSubmission(photo(person(4))))
		st.Corrupt(a.ID, []byte("{garbage"))
		_, err := exclusion.Open(ctx, st, emb, exclusion.DefaultConfig())
		if err == nil {
			t.Fatal("opened a registry with an unreadable record")
		}
	})
	t.Run("closed registry", func(t *testing.T) {
		reg, _ := newRegistry(t, emb)
		if err := reg.Close(); err != nil {
			t.Fatal(err)
		}
		if err := reg.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		_, err := exclusion.NewFilter(reg, emb, exclusion.DefaultFilterConfig())
		wantErr(t, err, exclusion.ErrClosed)
		_, err = reg.Submit(ctx, faceSubmission(photo(person(1))), "intake")
		wantErr(t, err, exclusion.ErrClosed)
	})
}
