// Package imageutil decodes untrusted image bytes safely, applies EXIF
// orientation, converts every colour model to opaque 8-bit RGB, resizes
// images for face detection and computes 64-bit perceptual hashes.
//
// # Basics
//
// [Decode] (or [DecodeBytes]) turns the bytes of a JPEG, PNG, GIF (first
// frame), WebP, BMP or TIFF file into an [Image]:
//
//	m, err := imageutil.Decode(r) // DefaultLimits: 20 MiB, 40 megapixels
//	if err != nil {
//		return err // errors.Is: ErrTooLarge, ErrFormat or ErrCorrupt
//	}
//	faces, err := embedder.Faces(ctx, m.RGB)
//	hash := imageutil.PHash(m.RGB)
//
// The format is sniffed from the first bytes, never taken from a file name or
// a Content-Type. [Image.RGB] is an *image.NRGBA with 8 bits per channel,
// the EXIF orientation already applied (so a face in a photo taken with the
// camera on its side is upright), and every alpha byte 0xff: grayscale,
// 16-bit, paletted, YCbCr and CMYK images (including Adobe's inverted CMYK
// JPEGs, as image/jpeg decodes them) are converted, and transparent pixels
// are composited over white. A GIF's first frame is drawn on a white canvas
// the size of its logical screen. [Orient] and [ToRGB] do the same conversion
// for images from elsewhere. [DecodeContext] and [DecodeBytesContext] also
// stop at a context's end.
//
// PNG is decoded by this package's own streaming decoder (every colour type
// and bit depth, Adam7 interlacing, tRNS transparency, chunk checksums),
// which accepts exactly the files image/png accepts and gives exactly the
// pixels image/png's image gives once converted (TestPNGDifferential,
// FuzzPNGDifferential); the other formats use the decoders of the standard
// library and golang.org/x/image.
//
// [Fit], [Scale] and [Resize] resize with disintegration/imaging's
// Catmull-Rom filter; [Shrink] divides the size by an integer with a box
// mean, as the pixel budget does. [PHash] computes a [Hash]; two images whose hashes
// differ in at most [DefaultMatchDistance] bits ([Hash.Distance]) count as
// the same picture. Hashes are stored as 16 hexadecimal digits
// ([Hash.String], [ParseHash]).
//
// # Caveats
//
// A decode within the limits can still take seconds: x/image/webp decodes a
// 40-megapixel lossless WebP of a few hundred bytes pixel by pixel, and
// Go's progressive JPEG decoder copies every block in and out of its
// coefficient store once per scan. [DecodeContext] stops a PNG decode
// within a few rows of the context's end, and any other decoder at its next
// read of the input; a decoder that has read all of its input (that WebP
// reads its 160 bytes at once) runs to the end before DecodeContext
// returns. A caller that must answer at a deadline runs the decode on a
// goroutine it can abandon, bounding how many it abandons (exclusion's
// Filter does: it answers Unchecked at the deadline).
//
// Orientation comes from EXIF tag 0x0112 in a JPEG's APP1 segment, a TIFF's
// IFD0, a WebP's EXIF chunk or a PNG's eXIf chunk; values outside 1 to 8 and
// malformed EXIF count as 1 (no rotation) rather than an error, as in
// browsers. Colour profiles (ICC) are ignored: pixels are taken as sRGB.
// Only the first frame of an animated GIF (or WebP) is decoded.
//
// The perceptual hash survives re-encoding, resizing, small centred crops
// and small captions, not rotation, mirroring, larger or one-sided crops.
// Measured on the 79 shared test photos (TestPHashRobustness): resizing to
// 50 % moves a hash by at most 6 bits, JPEG quality 60 by 2, a 5 % crop
// (2.5 % off each edge) by 10, a corner caption by 2, while different photos
// are at least 12 bits apart (1 % of pairs within 16, median 30). A 5 % crop
// off one side moves a hash by up to 20 bits and is not matched at
// [DefaultMatchDistance]. The margin is thin: the closest different photos
// are tight face crops of different people at 12 bits, so callers that match
// on hashes alone should keep the default rather than raise it.
// Near-uniform images (all white, all black) have hashes made of rounding
// noise: do not match on them. Different photos of one person are different
// pictures to the hash; faces are matched by
// [github.com/faceoptout/faceoptout/embed] descriptors.
//
// # Security Considerations
//
// The input is untrusted. Decode reads at most [Limits].MaxBytes+1 bytes (an
// io.LimitReader), then reads the dimensions from the header (PNG's IHDR,
// the other formats' DecodeConfig) and refuses anything beyond Limits.MaxPixels before a single pixel is
// allocated: a PNG that declares 100000x100000 pixels costs about 1 KiB of
// memory, not 40 GB (TestDecodeBomb measures every format: 0.2 to 14 KiB
// per refused file). A decoder that returns an image other than the
// one its header declared is an error, so a lying header cannot slip past
// the pixel limit (a GIF frame larger than its logical screen is already
// refused by image/gif).
//
// Memory is bounded by Limits.MaxMemory (256 MiB by default): from the
// header, Decode estimates an upper bound of the pixel memory the decode
// holds at once (the decoder's image, a progressive JPEG's coefficients, a
// TIFF's raw strip, and the result) and refuses a file beyond it, before
// decoding. A PNG is decoded row by row into the result: it holds the
// result, two raw rows and one converted row (a 40-million-pixel row of
// 16-bit RGBA is refused: 640 MB of rows), and with a pixel budget each
// row is summed into its k x k blocks as it comes, so a 36-megapixel PNG
// reduced to 4 megapixels holds the 4-megapixel result and a few rows (an
// interlaced one adds one sum per result pixel, since its passes visit
// every block seven times). For the other formats the result never costs
// a second full-size buffer when the decoder returns 8-bit or 16-bit RGBA
// or NRGBA (lossless WebP, BMP, most TIFF): those pixels become the result
// in place, transparency composited and EXIF orientation applied by moving
// pixels within the buffer. Other colour models (YCbCr, gray, paletted,
// CMYK) are converted band by band into one new 8-bit image, the
// orientation applied on the way. With [WithPixelBudget] the image is
// reduced band by band from the decoder's own image, so the only
// full-size buffer is the decoder's.
// Limits.MaxScans (64) bounds the scans of a JPEG: a progressive decoder
// visits every block once per scan, so a file of a few kilobytes holding
// thousands of scans would otherwise cost minutes of CPU.
// Limits cannot be disabled: zero or negative fields take their defaults.
// The hostile corpus (TestHostileCorpus, BenchmarkHostile, RELIABILITY.md)
// lists the cases tried and the time and peak RSS of each.
//
// Errors are typed: [ErrTooLarge] (a *[LimitError] with the limit, the value
// and the maximum), [ErrFormat] and [ErrCorrupt], always wrapped with %w.
// A panic inside a decoder is recovered and reported as ErrCorrupt. A decode
// stopped by its context returns an error wrapping the context's error
// (context.Canceled or context.DeadlineExceeded) instead. The EXIF
// parsers are this package's own, bounded by the input and a fixed number of
// segments and IFD entries; they never allocate.
//
// Decoding is CPU-bound and bounded by the limits; [Decode] takes no
// context and [DecodeContext] stops early as described in Caveats (it also
// stops reading r at the context's end, between reads: a read that blocks
// is bounded by the caller's own deadline on r). The decoders other than
// PNG's are those of the standard library and golang.org/x/image, called
// directly by sniffed format; this
// package registers nothing with image.RegisterFormat and has no init
// function (importing it links x/image/webp, bmp and tiff, whose own init
// functions do register with package image).
package imageutil
