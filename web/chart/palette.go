package chart

import (
	"fmt"
	"math"
)

// Colours of the NHS identity palette used by the charts. Each one used for a graphical
// object has at least 3:1 contrast against white (WCAG 2.2 1.4.11) and each one used for
// text at least 4.5:1 (1.4.3); palette_test.go checks both.
const (
	NHSBlue     = "#005eb8"
	NHSDarkBlue = "#003087"
	NHSBlack    = "#212b32" // the NHS.UK text colour
	NHSDarkGrey = "#425563"
	NHSMidGrey  = "#768692"
	NHSPaleGrey = "#e8edee"
	NHSWhite    = "#ffffff"
	NHSPurple   = "#330072"
	NHSDarkPink = "#7c2855"
	NHSGreen    = "#007f3b"
	NHSDarkRed  = "#8a1538"
)

// seriesColours are used in order for the series of a trend and the categories of a
// stacked distribution. Neighbours differ in lightness as well as hue, and every series
// also has its own marker shape and dash pattern, so no reading depends on colour.
var seriesColours = []string{NHSBlue, NHSDarkPink, NHSGreen, NHSPurple, NHSDarkGrey, NHSDarkBlue, NHSDarkRed}

func seriesColour(i int) string { return seriesColours[i%len(seriesColours)] }

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var rgb [3]float64
	for i := range 3 {
		var v int
		fmt.Sscanf(hex[1+2*i:3+2*i], "%02x", &v)
		c := float64(v) / 255
		if c <= 0.03928 {
			c /= 12.92
		} else {
			c = math.Pow((c+0.055)/1.055, 2.4)
		}
		rgb[i] = c
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

// textOn is the text colour (white or the NHS black) with the higher contrast on bg.
func textOn(bg string) string {
	if contrast(bg, NHSWhite) >= contrast(bg, NHSBlack) {
		return NHSWhite
	}
	return NHSBlack
}
