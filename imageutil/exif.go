package imageutil

import (
	"bytes"
	"encoding/binary"
)

// EXIF orientation, tag 0x0112 of IFD0. Every parser here is bounded by the
// input it is given and fails soft: anything malformed means orientation 1.

const (
	tagOrientation = 0x0112
	maxIFDEntries  = 1024 // more than any real IFD0; bounds the scan
	maxSegments    = 4096 // JPEG markers / PNG and RIFF chunks visited
)

// Orientation returns the EXIF orientation (1 to 8) of an encoded image,
// the one Decode applies: the format is sniffed from data (JPEG, TIFF, WebP
// and PNG eXIf carry one); 1 when there is none, it is invalid, or the
// format is unknown. It reads metadata only and never panics.
func Orientation(data []byte) int {
	c, ok := sniff(data)
	if !ok {
		return 1
	}
	return orientation(c.name, data)
}

// orientation returns the EXIF orientation (1 to 8) of an image in the given
// format, 1 when there is none or it is invalid.
func orientation(format string, data []byte) int {
	var o int
	switch format {
	case FormatJPEG:
		o = jpegOrientation(data)
	case FormatTIFF:
		o = tiffOrientation(data)
	case FormatWebP:
		o = webpOrientation(data)
	case FormatPNG:
		o = pngOrientation(data)
	}
	if o < 1 || o > 8 {
		return 1
	}
	return o
}

// jpegOrientation scans the marker segments before the first SOS for an
// APP1 segment holding "Exif\0\0" and a TIFF structure.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return 0
	}
	i := 2
	for n := 0; n < maxSegments; n++ {
		if i >= len(b) || b[i] != 0xff {
			return 0
		}
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return 0
		}
		marker := b[i]
		i++
		switch {
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			continue // no length field
		case marker == 0xda || marker == 0xd9: // SOS, EOI: metadata is over
			return 0
		}
		if i+2 > len(b) {
			return 0
		}
		l := int(binary.BigEndian.Uint16(b[i:]))
		if l < 2 || i+l > len(b) {
			return 0
		}
		seg := b[i+2 : i+l]
		i += l
		if marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
	}
	return 0
}

// tiffOrientation reads the orientation tag of IFD0 of a TIFF structure (a
// TIFF file, or the payload of an EXIF block).
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	p := int(off) + 2
	for k := 0; k < count && k < maxIFDEntries; k++ {
		e := p + 12*k
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) != tagOrientation {
			continue
		}
		typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:])
		if n < 1 {
			return 0
		}
		switch typ {
		case 3: // SHORT, as the specification requires
			return int(bo.Uint16(t[e+8:]))
		case 4: // LONG, written by a few tools
			if v := bo.Uint32(t[e+8:]); v <= 8 {
				return int(v)
			}
		}
		return 0
	}
	return 0
}

// webpOrientation looks for the EXIF chunk of an extended (VP8X) WebP file.
func webpOrientation(b []byte) int {
	if len(b) < 12 {
		return 0
	}
	i := 12
	for n := 0; n < maxSegments && i+8 <= len(b); n++ {
		fourcc := string(b[i : i+4])
		size := uint64(binary.LittleEndian.Uint32(b[i+4:]))
		if uint64(i)+8+size > uint64(len(b)) {
			return 0
		}
		if fourcc == "EXIF" {
			// The payload is a TIFF structure; some writers prefix it with
			// the JPEG APP1 identifier.
			p := b[i+8 : i+8+int(size)]
			return tiffOrientation(bytes.TrimPrefix(p, []byte("Exif\x00\x00")))
		}
		i += 8 + int(size) + int(size&1)
	}
	return 0
}

// pngOrientation looks for an eXIf chunk.
func pngOrientation(b []byte) int {
	i := 8
	for n := 0; n < maxSegments && i+12 <= len(b); n++ {
		size := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		if uint64(i)+12+size > uint64(len(b)) {
			return 0
		}
		switch typ {
		case "eXIf":
			return tiffOrientation(b[i+8 : i+8+int(size)])
		case "IEND":
			return 0
		}
		i += 12 + int(size)
	}
	return 0
}
