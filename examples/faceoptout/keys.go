package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/faceoptout/faceoptout/examples/internal/registrydir"
)

// keyFile returns the operator key file that --key-file names, else
// $FACEOPTOUT_KEY_FILE; "" when neither is set.
func (o operator) keyFile(rf regFlags) string {
	if rf.keyFile != nil && *rf.keyFile != "" {
		return *rf.keyFile
	}
	if o.env != nil {
		return o.env(registrydir.KeyFileEnv)
	}
	return ""
}

// readOrMakeKey reads the operator key file at path or, with create and no
// such file, makes one with a new random key and says so on stdout.
func readOrMakeKey(path string, create bool, stdout io.Writer) ([]byte, error) {
	key, err := registrydir.ReadKeyFile(path)
	if create && errors.Is(err, os.ErrNotExist) {
		if key, err = registrydir.WriteKeyFile(path); err == nil {
			fmt.Fprintf(stdout, "new operator key written to %s: keep it, and copies of it, apart from the registry and its backups\n", path)
		}
	}
	return key, err
}

// keyOptions returns the registrydir options for the operator key: none
// without a key file. With create (init), a missing key file is made.
func (o operator) keyOptions(rf regFlags, create bool, stdout io.Writer) ([]registrydir.Option, error) {
	path := o.keyFile(rf)
	if path == "" {
		return nil, nil
	}
	key, err := readOrMakeKey(path, create, stdout)
	if err != nil {
		return nil, err
	}
	return []registrydir.Option{registrydir.WithKey(key)}, nil
}

// cmdRekey re-wraps every data key of an encrypted registry under a new
// operator key (exclusion.Registry.RotateKey). An interrupted rotation is
// finished by running the same command again.
//
//	faceoptout rekey --key-file OLD --new-key-file NEW
func (o operator) cmdRekey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rekey", stderr)
	rf := o.addRegFlags(fs, false)
	newPath := fs.String("new-key-file", "", "the new operator key file (made if missing)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *newPath == "" || o.keyFile(rf) == "" {
		return errors.New("usage: faceoptout rekey --key-file OLD --new-key-file NEW")
	}
	newKey, err := readOrMakeKey(*newPath, true, stdout)
	if err != nil {
		return err
	}
	oldKey, err := registrydir.ReadKeyFile(o.keyFile(rf))
	if err != nil {
		return err
	}
	dir, err := registrydir.Resolve(*rf.registry, o.env)
	if err != nil {
		return err
	}
	// The new key unwraps what an interrupted run already re-wrapped.
	reg, err := registrydir.Open(ctx, dir, registrydir.Embedder{}, registrydir.WithKey(oldKey), registrydir.WithOldKeys(newKey))
	if err != nil {
		return err
	}
	defer reg.Close()
	n, err := reg.RotateKey(ctx, newKey)
	if err != nil {
		return fmt.Errorf("rotation stopped after %d data keys (run the same command again to finish it): %w", n, err)
	}
	fmt.Fprintf(stdout, "%d data keys re-wrapped under %s: use --key-file %s from now on, then destroy the old key and keyring backups made before\n", n, *newPath, *newPath)
	return nil
}
