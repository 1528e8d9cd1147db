// Package crawl is the crawling logic of the example crawler (and of the
// demo): it fetches images from URLs or reads them from files, asks an
// exclusion.Filter about each one (CheckURL first, then the image through
// Filter.CheckBatch, which overlaps the checks of several images), and adds
// only the allowed ones to a toy search Index.
//
// # Basics
//
//	c, err := crawl.New(filter, crawl.DefaultConfig())
//	results := c.Crawl(ctx, crawl.Sources(args...))
//	for _, r := range results {
//		if r.Verdict.MayIndex() {
//			idx.Add(r.Entry())
//		}
//	}
//	crawl.Print(os.Stdout, results)
//
// # Caveats
//
//   - Fail closed: a fetch that fails, times out, is cancelled, answers
//     anything but 200 or exceeds Config.MaxBytes gives an Unchecked
//     result with the reason, never Allow.
//   - A URL is checked before it is fetched, and again after redirects
//     (the final URL), so a removed image is not even downloaded.
//   - Results hold the Filter's matches (request ids, distances,
//     thresholds) for printing; the Index keeps nothing about faces, and
//     nothing at all about images that were not allowed.
package crawl
