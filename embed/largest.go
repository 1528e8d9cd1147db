package embed

// Largest returns the face with the largest box, or ErrNoFace.
func Largest(faces []Face) (Face, error) {
	if len(faces) == 0 {
		return Face{}, ErrNoFace
	}
	best := 0
	for i := range faces {
		if faces[i].Quality.Size > faces[best].Quality.Size {
			best = i
		}
	}
	return faces[best], nil
}
