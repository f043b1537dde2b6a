package puzzle

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the header line of the Sudoku-Extreme and Maze-Hard CSV files
// (Hugging Face sapientinc/sudoku-extreme and sapientinc/maze-30x30-hard-1k).
var CSVHeader = []string{"source", "question", "answer", "rating"}

// SudokuRecord is one row of a Sudoku-Extreme CSV file.
type SudokuRecord struct {
	Source   string
	Puzzle   Grid // the question, '.' for a blank
	Solution Grid // the answer
	Rating   int  // backtracks a solver needed
}

// MazeRecord is one row of a Maze-Hard CSV file.
type MazeRecord struct {
	Source   string
	Question Maze // '#', ' ', 'S', 'G'
	Answer   Maze // the question with the shortest path marked 'o'
	Rating   int  // GenerateMaze writes the shortest path length in moves
}

// csvRows checks the header, then calls row for each record; its errors are
// prefixed with the line number.
func csvRows(r io.Reader, row func(rec []string) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // count checked here, with a clearer message
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return errors.New("line 1: empty file, want the header source,question,answer,rating")
	}
	if err != nil {
		return fmt.Errorf("csv header: %w", err)
	}
	if strings.Join(header, ",") != strings.Join(CSVHeader, ",") {
		return fmt.Errorf("line 1: header %q, want %q", strings.Join(header, ","), strings.Join(CSVHeader, ","))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err // a *csv.ParseError names its line
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(CSVHeader) {
			return fmt.Errorf("line %d: %d fields, want 4 (source,question,answer,rating)", line, len(rec))
		}
		if err := row(rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
}

func parseRating(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("rating %q: want a non-negative integer", s)
	}
	return v, nil
}

// parseCSVGrid reads a Sudoku question or answer: exactly one character per
// cell, digits and '.' (a '0' is read as a blank too).
func parseCSVGrid(field, what string) (Grid, error) {
	shape, err := shapeForCells(len(field))
	if err != nil {
		return Grid{}, fmt.Errorf("%s has %d characters, want 81 (or 16, 36 for 4×4, 6×6)", what, len(field))
	}
	g := NewGrid(shape)
	n := shape.Size()
	for i := 0; i < len(field); i++ {
		ch := field[i]
		switch {
		case ch == '.' || ch == '0':
		case ch >= '1' && int(ch-'0') <= n:
			g.Cells[i] = ch - '0'
		default:
			return Grid{}, fmt.Errorf("%s: character %q at position %d: want '.' or a digit 1..%d", what, ch, i+1, n)
		}
	}
	return g, nil
}

// ParseSudokuRecord checks and converts the four fields of a Sudoku-Extreme
// row: question and answer of the same size, the answer a complete valid
// grid that agrees with every given, and a non-negative integer rating.
func ParseSudokuRecord(fields []string) (SudokuRecord, error) {
	if len(fields) != 4 {
		return SudokuRecord{}, fmt.Errorf("%d fields, want 4 (source,question,answer,rating)", len(fields))
	}
	q, err := parseCSVGrid(fields[1], "question")
	if err != nil {
		return SudokuRecord{}, err
	}
	a, err := parseCSVGrid(fields[2], "answer")
	if err != nil {
		return SudokuRecord{}, err
	}
	if a.Shape != q.Shape {
		return SudokuRecord{}, fmt.Errorf("answer has %d characters, question %d", len(fields[2]), len(fields[1]))
	}
	if b := a.Blanks(); b > 0 {
		return SudokuRecord{}, fmt.Errorf("answer has %d blanks, want a complete grid", b)
	}
	if c := a.Conflict(); c != "" {
		return SudokuRecord{}, fmt.Errorf("answer is not a valid Sudoku: %s", c)
	}
	n := q.Size()
	for i, v := range q.Cells {
		if v != 0 && v != a.Cells[i] {
			return SudokuRecord{}, fmt.Errorf("answer has %d at r%dc%d where the question gives %d", a.Cells[i], i/n+1, i%n+1, v)
		}
	}
	rating, err := parseRating(fields[3])
	if err != nil {
		return SudokuRecord{}, err
	}
	return SudokuRecord{Source: fields[0], Puzzle: q, Solution: a, Rating: rating}, nil
}

// ReadSudokuCSV reads a Sudoku-Extreme CSV file: the header
// source,question,answer,rating, then one puzzle per row (see
// ParseSudokuRecord). It calls fn for each record in order and stops at the
// first malformed row, with an error naming its line, or at the first error
// from fn, which it returns wrapped with the line.
func ReadSudokuCSV(r io.Reader, fn func(SudokuRecord) error) error {
	return csvRows(r, func(rec []string) error {
		sr, err := ParseSudokuRecord(rec)
		if err != nil {
			return err
		}
		return fn(sr)
	})
}

// ReadAllSudokuCSV reads a whole Sudoku-Extreme CSV file (see ReadSudokuCSV).
func ReadAllSudokuCSV(r io.Reader) ([]SudokuRecord, error) {
	var out []SudokuRecord
	err := ReadSudokuCSV(r, func(rec SudokuRecord) error {
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteSudokuCSV writes records in the Sudoku-Extreme format, header first.
// It refuses a record whose grids are malformed or differ in shape.
func WriteSudokuCSV(w io.Writer, recs []SudokuRecord) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for i, r := range recs {
		if err := r.Puzzle.Check(); err != nil {
			return fmt.Errorf("record %d: puzzle: %w", i, err)
		}
		if err := r.Solution.Check(); err != nil {
			return fmt.Errorf("record %d: solution: %w", i, err)
		}
		if r.Puzzle.Shape != r.Solution.Shape {
			return fmt.Errorf("record %d: puzzle %v and solution %v differ in shape", i, r.Puzzle.Shape, r.Solution.Shape)
		}
		if err := cw.Write([]string{r.Source, r.Puzzle.String(), r.Solution.String(), strconv.Itoa(r.Rating)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ParseMazeRecord checks and converts the four fields of a Maze-Hard row:
// question and answer strings of the same square length, the question with
// only "# SG" and one S and one G, the answer equal to the question except
// open cells marked 'o', and a non-negative integer rating. (Whether the
// answer's path is a shortest one is CheckMazePath's job.)
func ParseMazeRecord(fields []string) (MazeRecord, error) {
	if len(fields) != 4 {
		return MazeRecord{}, fmt.Errorf("%d fields, want 4 (source,question,answer,rating)", len(fields))
	}
	q, a := fields[1], fields[2]
	n := isqrt(len(q))
	if n == 0 || n*n != len(q) {
		return MazeRecord{}, fmt.Errorf("question has %d characters, want a positive square number", len(q))
	}
	if len(a) != len(q) {
		return MazeRecord{}, fmt.Errorf("answer has %d characters, question %d", len(a), len(q))
	}
	question := Maze{N: n, Cells: []byte(q)}
	if err := question.CheckQuestion(); err != nil {
		return MazeRecord{}, fmt.Errorf("question: %w", err)
	}
	answer := Maze{N: n, Cells: []byte(a)}
	for i := range answer.Cells {
		ac, qc := answer.Cells[i], question.Cells[i]
		if ac != qc && !(ac == MazePath && qc == MazeOpen) {
			return MazeRecord{}, fmt.Errorf("answer cell (%d,%d) is %q where the question has %q", i/n, i%n, ac, qc)
		}
	}
	rating, err := parseRating(fields[3])
	if err != nil {
		return MazeRecord{}, err
	}
	return MazeRecord{Source: fields[0], Question: question, Answer: answer, Rating: rating}, nil
}

// ReadMazeCSV reads a Maze-Hard CSV file: the header
// source,question,answer,rating, then one maze per row (see
// ParseMazeRecord). It calls fn for each record in order and stops at the
// first malformed row, with an error naming its line, or at the first error
// from fn.
func ReadMazeCSV(r io.Reader, fn func(MazeRecord) error) error {
	return csvRows(r, func(rec []string) error {
		mr, err := ParseMazeRecord(rec)
		if err != nil {
			return err
		}
		return fn(mr)
	})
}

// ReadAllMazeCSV reads a whole Maze-Hard CSV file (see ReadMazeCSV).
func ReadAllMazeCSV(r io.Reader) ([]MazeRecord, error) {
	var out []MazeRecord
	err := ReadMazeCSV(r, func(rec MazeRecord) error {
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteMazeCSV writes records in the Maze-Hard format, header first. It
// refuses a record whose question and answer differ in size or hold
// characters outside "# SGo".
func WriteMazeCSV(w io.Writer, recs []MazeRecord) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for i, r := range recs {
		if err := r.Question.checkChars(MazeCharset); err != nil {
			return fmt.Errorf("record %d: question: %w", i, err)
		}
		if err := r.Answer.checkChars(MazeCharset); err != nil {
			return fmt.Errorf("record %d: answer: %w", i, err)
		}
		if r.Question.N != r.Answer.N {
			return fmt.Errorf("record %d: question %dx%d, answer %dx%d", i, r.Question.N, r.Question.N, r.Answer.N, r.Answer.N)
		}
		if err := cw.Write([]string{r.Source, r.Question.String(), r.Answer.String(), strconv.Itoa(r.Rating)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
