package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/faceoptout/faceoptout/exclusion"
	"github.com/faceoptout/faceoptout/internal/pgtest"
)

// TestAuditTamper edits and deletes events in the audit table with SQL,
// as someone with write access to the database would, and finds
// Registry.VerifyAudit naming the first one touched.
func TestAuditTamper(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t)
	for _, tc := range []struct {
		name string
		sql  string
		seq  uint64
	}{
		{"none", "", 0},
		{"actor edited", `UPDATE %s.audit SET doc = jsonb_set(doc::jsonb, '{actor}', '"mallory"')::text WHERE seq = 2`, 2},
		{"note added", `UPDATE %s.audit SET doc = jsonb_set(doc::jsonb, '{note}', '"approved by the board"')::text WHERE seq = 4`, 4},
		{"event deleted", `DELETE FROM %s.audit WHERE seq = 3`, 3},
		{"events swapped", `UPDATE %s.audit SET doc = CASE seq WHEN 1 THEN (SELECT doc FROM %[1]s.audit WHERE seq = 3) ELSE (SELECT doc FROM %[1]s.audit WHERE seq = 1) END WHERE seq IN (1, 3)`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t, dsn)
			reg, err := exclusion.Create(ctx, st, nil, exclusion.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			for _, u := range []string{"https://example.org/a.jpg", "https://example.org/b.jpg"} {
				req, err := reg.Submit(ctx, &exclusion.Submission{
					Kind: exclusion.ImageRemoval, Country: "FR", Reason: "DSA notice: this image is mine.",
					Name: "Jean Dupont", Email: "jean@example.fr", Phone: "+33612345678", URLs: []string{u},
				}, "intake")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := reg.Approve(ctx, req.ID, "reviewer", ""); err != nil {
					t.Fatal(err)
				}
			}
			if tc.sql != "" {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				_, err = conn.Exec(ctx, fmt.Sprintf(tc.sql, pgx.Identifier{st.Schema()}.Sanitize()))
				conn.Close(ctx)
				if err != nil {
					t.Fatal(err)
				}
			}
			head, err := reg.VerifyAudit(ctx)
			if tc.seq == 0 {
				if err != nil || head.Events != 4 {
					t.Fatalf("untouched log: %+v, %v", head, err)
				}
				return
			}
			var ae *exclusion.AuditError
			if !errors.As(err, &ae) || !errors.Is(err, exclusion.ErrAudit) || ae.Seq != tc.seq {
				t.Fatalf("VerifyAudit: %v, want an AuditError at %d", err, tc.seq)
			}
		})
	}
}
