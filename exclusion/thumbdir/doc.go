// Package thumbdir keeps a registry's sealed face thumbnails in a directory,
// one file per request: the exclusion.ThumbnailStore of programs that run
// on one machine (the intake example).
//
// # Basics
//
//	ts, err := thumbdir.New(filepath.Join(dir, "thumbnails"))
//	cfg := exclusion.DefaultConfig()
//	cfg.Thumbnails = exclusion.ThumbnailConfig{Store: ts, Key: key}
//
// Files are written to a temporary name, synced and renamed, so a crash
// leaves the old file or the new one; a deletion is synced before it
// returns.
//
// # Caveats
//
// Deleting a file removes its name; the file system may keep its blocks
// until they are reused. The thumbnails are sealed by the registry
// (AES-GCM) before they reach the store, so such remnants are ciphertext:
// keep the key away from the disk that holds the directory. Several
// machines need a shared store of their own.
//
// # Security Considerations
//
// Request ids become file names only when they are 1 to 64 letters and
// digits; anything else is refused, so no id can name a path outside the
// directory. Files are read with a size limit (MaxFileBytes) and created
// with mode 0600 in a directory of mode 0700.
package thumbdir
