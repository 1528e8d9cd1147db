package imageutil_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"

	"github.com/faceoptout/faceoptout/imageutil"
)

func ExampleDecode() {
	// A 300x200 PNG, as a crawler would download it.
	src := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range src.Pix {
		src.Pix[i] = uint8(i % 251)
	}
	var file bytes.Buffer
	if err := png.Encode(&file, src); err != nil {
		panic(err)
	}

	m, err := imageutil.Decode(&file)
	if err != nil {
		// Fail closed: an image that cannot be decoded is not indexed.
		fmt.Println("unchecked:", err)
		return
	}
	fmt.Println(m.Format, m.Bounds(), m.Orientation)
	fmt.Println(imageutil.Fit(m.RGB, 150).Bounds())

	// A header that declares 100000x100000 pixels fails before any pixel is
	// allocated.
	_, err = imageutil.Decode(bytes.NewReader(pngHeader(100000, 100000)))
	var le *imageutil.LimitError
	fmt.Println(errors.Is(err, imageutil.ErrTooLarge), errors.As(err, &le) && le.Limit == imageutil.LimitPixels)

	_, err = imageutil.Decode(bytes.NewReader([]byte("<html>")))
	fmt.Println(errors.Is(err, imageutil.ErrFormat))
	// Output:
	// png (0,0)-(300,200) 1
	// (0,0)-(150,100)
	// true true
	// true
}

// pngHeader returns a PNG whose IHDR declares w x h pixels, and no pixels.
func pngHeader(w, h int) []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	p := b.Bytes()
	binary.BigEndian.PutUint32(p[16:], uint32(w))
	binary.BigEndian.PutUint32(p[20:], uint32(h))
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29])) // IHDR's CRC
	return p
}

func ExamplePHash() {
	// A picture and a half-size, slightly brightened copy of it.
	a := image.NewNRGBA(image.Rect(0, 0, 400, 300))
	b := image.NewNRGBA(image.Rect(0, 0, 200, 150))
	paint := func(m *image.NRGBA, scale int, lift uint8) {
		for y := range m.Rect.Dy() {
			for x := range m.Rect.Dx() {
				v := uint8((x*scale/3 ^ y*scale/2) & 0xff)
				m.SetNRGBA(x, y, color.NRGBA{v/2 + lift, v / 3, 255 - v, 255})
			}
		}
	}
	paint(a, 1, 0)
	paint(b, 2, 20)

	ha, hb := imageutil.PHash(a), imageutil.PHash(b)
	same := ha.Distance(hb) <= imageutil.DefaultMatchDistance
	fmt.Println(len(ha.String()), same)

	stored, _ := imageutil.ParseHash(ha.String())
	fmt.Println(stored == ha)
	// Output:
	// 16 true
	// true
}

// A pixel budget gives the image reduced while it is decoded, without a
// full-size 8-bit copy: here a 3000x2000 PNG within 1.5 megapixels.
func ExampleWithPixelBudget() {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3000, 2000))); err != nil {
		panic(err)
	}
	m, err := imageutil.DecodeBytes(b.Bytes(), imageutil.WithPixelBudget(1_500_000))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Bounds().Dx(), m.Bounds().Dy(), "reduced", m.Reduction, "times from", m.SourceWidth, m.SourceHeight)
	// Output: 1500 1000 reduced 2 times from 3000 2000
}
