package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/huifang/huifang/surveys"
)

const surveyUsage = `usage:
  huifang survey validate FILE...
      Check survey definitions. Each problem is printed as
      FILE:LINE:COL: message [rule]; the command fails if any file has one.

  huifang survey preview FILE (--job ID | --sample) [--lang zh-CN|en] [--channel voice|sms] [--print]
      Run a survey in the terminal as the customer would experience it.
      --job ID     a work order (its id, or a unique external id) read from DATABASE_URL
      --sample     a built-in sample job (a repair with two claimed parts, or an install)
      --lang       the language to run in (default: the job's)
      --channel    voice or sms (default voice)
      --print      print every prompt at every re-ask level instead of running

FILE may be builtin:NAME for a shipped script (install-verification,
repair-parts-verification, satisfaction).
`

// surveyCommand implements `huifang survey validate` and `huifang survey preview`.
func surveyCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, surveyUsage)
		return errors.New("survey: give a subcommand: validate or preview")
	}
	switch args[0] {
	case "validate":
		return surveyValidate(args[1:], stdout, stderr)
	case "preview":
		return surveyPreview(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, surveyUsage)
		return nil
	}
	fmt.Fprint(stderr, surveyUsage)
	return fmt.Errorf("survey: unknown subcommand %q (validate, preview)", args[0])
}

// readSurvey reads a survey file, or a shipped script named builtin:NAME.
func readSurvey(file string) (*surveys.Definition, error) {
	if name, ok := strings.CutPrefix(file, "builtin:"); ok {
		return surveys.ShippedScript(name)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return surveys.ParseDefinition(file, src)
}

func surveyValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("survey validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, surveyUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("survey validate: give at least one FILE")
	}
	bad := 0
	for _, file := range fs.Args() {
		d, err := readSurvey(file)
		if err != nil {
			bad++
			if es := surveys.AsErrors(err); es != nil {
				for _, e := range es {
					fmt.Fprintln(stderr, e)
				}
				continue
			}
			fmt.Fprintf(stderr, "%s: %v\n", file, err)
			continue
		}
		langs := make([]string, len(d.Languages))
		for i, l := range d.Languages {
			langs[i] = l.Code
		}
		chans := make([]string, len(d.Channels))
		for i, c := range d.Channels {
			chans[i] = string(c)
		}
		fmt.Fprintf(stdout, "%s: ok: survey %s, %d questions, languages %s, channels %s\n",
			file, d.Name, len(d.Questions), strings.Join(langs, ", "), strings.Join(chans, ", "))
	}
	if bad > 0 {
		return fmt.Errorf("survey validate: %d of %d files have errors", bad, fs.NArg())
	}
	return nil
}

func surveyPreview(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("survey preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, surveyUsage) }
	jobRef := fs.String("job", "", "work order id to preview with (needs DATABASE_URL)")
	sample := fs.Bool("sample", false, "preview with a built-in sample job")
	lang := fs.String("lang", "", "language (default: the job's)")
	channel := fs.String("channel", "voice", "voice or sms")
	printAll := fs.Bool("print", false, "print every prompt instead of running")
	// Flags may come before or after FILE: parse, take one argument, parse the rest.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		fs.Usage()
		return errors.New("survey preview: give exactly one FILE")
	}
	ch := surveys.Channel(*channel)
	if ch != surveys.Voice && ch != surveys.SMS {
		return fmt.Errorf("survey preview: --channel must be voice or sms, not %q", *channel)
	}
	if (*jobRef == "") == !*sample {
		fs.Usage()
		return errors.New("survey preview: give either --job ID or --sample")
	}
	d, err := readSurvey(files[0])
	if err != nil {
		if es := surveys.AsErrors(err); es != nil {
			for _, e := range es {
				fmt.Fprintln(stderr, e)
			}
			return fmt.Errorf("survey preview: %s has errors; fix them first", files[0])
		}
		return fmt.Errorf("survey preview: %w", err)
	}
	var job *surveys.Job
	if *sample {
		kind := surveys.JobRepair
		if d.Kind == "install" {
			kind = surveys.JobInstall
		}
		job = surveys.SampleJob(kind)
	} else {
		url := os.Getenv("DATABASE_URL")
		if url == "" {
			return errors.New("survey preview: --job reads the job from Postgres; set DATABASE_URL (or use --sample)")
		}
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return fmt.Errorf("survey preview: %w", err)
		}
		defer pool.Close()
		if job, err = surveys.LoadJob(ctx, pool, *jobRef); err != nil {
			return fmt.Errorf("survey preview: %w", err)
		}
	}
	if *printAll {
		return d.RenderScript(stdout, job, ch, *lang)
	}
	_, err = d.Preview(ctx, stdin, stdout, job, ch, *lang)
	return err
}
