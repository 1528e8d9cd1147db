// Package keyfile is an exclusion.Keyring in a file of its own, beside the
// registry's store: the wrapped data keys of an encrypted registry (see
// exclusion.EncryptionConfig), kept apart from the store so that deleting
// one makes the request's sealed descriptors and hashes unreadable in every
// copy of the store.
//
// # Basics
//
// Create makes a new keyring file (it refuses an existing one), Open opens
// one (it refuses a missing one), and the *Keyring is given to the registry
// in Config.Encryption.Keyring; the registry closes it in its Close (close
// it yourself if Create or Open fails). One process
// opens a file at a time (an exclusive flock, on Unix).
//
// The file is a 512-byte header followed by fixed 256-byte slots, one per
// key: the request id, the wrapped key and a CRC-32C. Put writes a slot in
// place (a free one, or the end of the file) and Delete overwrites its slot
// with zeros, each followed by fsync before it returns: what is deleted is
// overwritten in the file, not merely marked free, and a slot never
// straddles a 512-byte sector.
//
// # Caveats
//
// Crypto-shredding reaches only as far as the keyring's copies: a backup of
// this file made before a withdrawal still holds that request's wrapped
// key, and with the operator key it opens the request's sealed data in a
// store backup of the same age. Keep keyring backups separate from store
// backups, few, and short-lived (rotate the operator key and destroy the
// old one to void them all at once: exclusion.Registry.RotateKey).
//
// Overwriting in place erases the bytes on file systems that write data in
// place (ext4, XFS); on copy-on-write file systems (btrfs, ZFS), in
// snapshots, and on flash whose controller remaps blocks, the old bytes may
// survive on the device until reused. Put the file on a plain file system,
// without snapshots, or on an encrypted volume whose key is managed with
// the same care.
//
// A slot that fails its checksum makes Open fail (a *CorruptError naming
// its offset): a damaged keyring is never read as one with fewer keys. A
// write torn by a power cut (not by kill -9, which cannot tear a write) is
// reported the same way; restore the file from its latest backup.
//
// # Security Considerations
//
// The file holds wrapped keys only: each is sealed (AES-256-GCM) by the
// operator key, which never touches this file. Request ids are stored in
// clear. Open reads at most MaxSize bytes and checks every slot before any
// is used; ids and keys are bounded by MaxIDLen and MaxKeyLen.
package keyfile
