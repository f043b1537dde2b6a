// Package plots draws the pictures of a TRM run as PNG or SVG images with
// gonum.org/v1/plot: training curves from run folders (TrainingCurves),
// accuracy per supervision step (StepCurves), the norms of a trace
// (TraceNorms) and an ablation table as a bar chart (Bars).
//
// Each function returns a Figure: one or more panels drawn into one image,
// written by Figure.Write (to a writer) or Figure.Save (to a file, the
// format from its extension, written atomically).
package plots

import (
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	imgdraw "image/draw"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/trm-go/trm/internal/atomicfile"
)

// Format is an image format a Figure can be written in.
type Format string

// The formats.
const (
	PNG Format = "png"
	SVG Format = "svg"
)

// FormatOf returns the format named by a file's extension (.png or .svg,
// any case).
func FormatOf(path string) (Format, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		return PNG, nil
	case ".svg":
		return SVG, nil
	default:
		return "", fmt.Errorf("plots: output file %q has extension %q, want .png or .svg", path, ext)
	}
}

// DPI is the resolution of PNG images: a Figure's size in inches times
// DPI is its size in pixels.
const DPI = 96

// Figure is a set of panels (plots) laid out in a grid and drawn into one
// image.
type Figure struct {
	// Panels are the plots, row by row; nil leaves a tile empty.
	Panels []*plot.Plot
	// Cols is the number of columns of the grid (0: 1).
	Cols int
	// Width and Height are the size of the image (0: 4.5 in per column,
	// 3 in per row).
	Width, Height vg.Length
}

// grid returns the panels as rows of Cols.
func (f *Figure) grid() (rows [][]*plot.Plot, cols int) {
	cols = max(f.Cols, 1)
	for i := 0; i < len(f.Panels); i += cols {
		row := make([]*plot.Plot, cols)
		copy(row, f.Panels[i:min(i+cols, len(f.Panels))])
		rows = append(rows, row)
	}
	return rows, cols
}

// Size returns the size of the image.
func (f *Figure) Size() (w, h vg.Length) {
	rows, cols := f.grid()
	w, h = f.Width, f.Height
	if w <= 0 {
		w = vg.Length(cols) * 4.5 * vg.Inch
	}
	if h <= 0 {
		h = vg.Length(max(len(rows), 1)) * 3 * vg.Inch
	}
	return w, h
}

// Write draws the figure and writes it to w in the given format.
func (f *Figure) Write(w io.Writer, format Format) error {
	if len(f.Panels) == 0 {
		return fmt.Errorf("plots: figure has no panels, want at least one")
	}
	width, height := f.Size()
	var (
		c   vg.CanvasWriterTo
		img *vgimg.Canvas
	)
	switch format {
	case PNG:
		img = vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))
		c = vgimg.PngCanvas{Canvas: img}
	case SVG:
		c = vgsvg.New(width, height)
	default:
		return fmt.Errorf("plots: format %q, want %q or %q", format, PNG, SVG)
	}
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	rows, cols := f.grid()
	pad := vg.Points(6)
	tiles := draw.Tiles{Rows: len(rows), Cols: cols, PadX: 2 * pad, PadY: 2 * pad,
		PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	canvases := plot.Align(rows, tiles, dc)
	for i, row := range rows {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	if img != nil {
		// A 256-colour image compresses to about a third of the RGBA one,
		// and line plots lose nothing visible.
		src := img.Image()
		pal := image.NewPaletted(src.Bounds(), palette.Plan9)
		imgdraw.Draw(pal, pal.Rect, src, src.Bounds().Min, imgdraw.Src)
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(w, pal); err != nil {
			return fmt.Errorf("plots: writing png: %w", err)
		}
		return nil
	}
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plots: writing %s: %w", format, err)
	}
	return nil
}

// Save writes the figure to path, in the format of its extension (.png or
// .svg), atomically: a failure leaves any previous file in place. Its
// errors name path (writing "docs/img/x.png": folder "docs/img" does not
// exist); the folder is not created.
func (f *Figure) Save(path string) error {
	format, err := FormatOf(path)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { return f.Write(w, format) })
}

// Series is one named curve: points (X[i], Y[i]). Points with a
// non-finite coordinate are left out (a diverged loss, a missing value).
type Series struct {
	Name string
	X, Y []float64
}

// xys returns the finite points of s.
func (s Series) xys() plotter.XYs {
	pts := make(plotter.XYs, 0, len(s.X))
	for i := range min(len(s.X), len(s.Y)) {
		x, y := s.X[i], s.Y[i]
		if isFinite(x) && isFinite(y) {
			pts = append(pts, plotter.XY{X: x, Y: y})
		}
	}
	return pts
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// style says how a series is drawn: its colour (an index into the
// palette), dashed or not, with point markers or not.
type style struct {
	color  int
	dashed bool
	points bool
}

// palette is a set of colours that stay apart in print and for common
// colour blindness (Okabe–Ito).
var colors = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // bluish green
	color.RGBA{204, 121, 167, 255}, // reddish purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky blue
	color.RGBA{0, 0, 0, 255},       // black
	color.RGBA{240, 228, 66, 255},  // yellow
}

func colorOf(i int) color.Color { return colors[((i%len(colors))+len(colors))%len(colors)] }

// sans is the typeface of every text: Liberation Sans, which gonum/plot
// embeds (no system fonts are needed).
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPanel returns a plot with a title, axis labels and the project's text
// sizes.
func newPanel(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, vg.Points(11))
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, vg.Points(9))
		ax.Tick.Label.Font = font.From(sans, vg.Points(8))
	}
	p.Legend.TextStyle.Font = font.From(sans, vg.Points(8))
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	p.Add(plotter.NewGrid())
	return p
}

// addSeries draws s on p in the given style and, when legend is set, adds
// it to p's legend under s.Name. A series without a finite point is
// skipped; it reports whether anything was drawn.
func addSeries(p *plot.Plot, s Series, st style, legend bool) (bool, error) {
	pts := s.xys()
	if len(pts) == 0 {
		return false, nil
	}
	line, err := plotter.NewLine(pts)
	if err != nil {
		return false, fmt.Errorf("plots: series %q: %w", s.Name, err)
	}
	line.Color = colorOf(st.color)
	line.Width = vg.Points(1.2)
	if st.dashed {
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	p.Add(line)
	thumbs := []plot.Thumbnailer{line}
	if st.points || len(pts) == 1 {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return false, fmt.Errorf("plots: series %q: %w", s.Name, err)
		}
		sc.Color = colorOf(st.color)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(2)
		p.Add(sc)
		thumbs = append(thumbs, sc)
	}
	if legend && s.Name != "" {
		p.Legend.Add(s.Name, thumbs...)
	}
	return true, nil
}

// noData marks an empty panel, so that a missing metric reads as missing
// rather than as an empty axis.
func noData(p *plot.Plot) { p.Title.Text += " (no data)" }
