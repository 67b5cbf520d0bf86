package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/huifang/huifang/audit"
	"github.com/huifang/huifang/web"
)

const userUsage = `usage:
  huifang user add NAME --role admin|ops|reviewer|readonly [--lang en|zh-CN]
                   [--phone +86…] [--display "…"]
                                        create a console user
  huifang user passwd NAME              set a user's password (their sessions end)
  huifang user list                     list the console users
  huifang user disable NAME             stop a user logging in (their sessions end)
  huifang user enable NAME              let a disabled user log in again

add and passwd read the password from HUIFANG_PASSWORD, or else the first
line of standard input; never from a flag, which other users of the machine
could read. It needs at least 10 characters.
`

// userCmd implements `huifang user …`: console users from the command line.
func userCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stderr, userUsage)
		if len(args) == 0 {
			return &exitCodeError{2, errors.New("user: give a subcommand")}
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(c, "user "+sub, "user "+sub+" [flags]")
	fs.Usage = func() { fmt.Fprint(c.stderr, userUsage, "\nFlags:\n"); fs.PrintDefaults() }
	var cfg config
	cfg.addFlags(c, fs)
	role := fs.String("role", "", "add: admin, ops, reviewer or readonly")
	lang := fs.String("lang", "en", "add: the console's language for the user, en or zh-CN")
	phone := fs.String("phone", "", "add: the user's phone in E.164, rung first by click-to-call")
	display := fs.String("display", "", "add: display name (default: the username)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	want := map[string]int{"add": 1, "passwd": 1, "list": 0, "disable": 1, "enable": 1}
	n, ok := want[sub]
	if !ok {
		fs.Usage()
		return &exitCodeError{2, fmt.Errorf("user: unknown subcommand %q", sub)}
	}
	if len(pos) != n {
		fs.Usage()
		return &exitCodeError{2, fmt.Errorf("user %s: want %d argument(s), got %d", sub, n, len(pos))}
	}
	if sub == "add" && !audit.Role(*role).Valid() {
		return &exitCodeError{2, fmt.Errorf("user add: --role %q: want admin, ops, reviewer or readonly", *role)}
	}
	var password string
	if sub == "add" || sub == "passwd" {
		if password, err = readPassword(c); err != nil {
			return err
		}
		if err := web.CheckPassword(password); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
	}
	rt, err := openRuntime(ctx, cfg, cfg.logger(c), false)
	if err != nil {
		return err
	}
	defer rt.close()
	us := &web.Users{Pool: rt.pool}
	actor := "cli:" + osUser(c)

	switch sub {
	case "add":
		name := pos[0]
		if *display == "" {
			*display = web.NormalizeUsername(name)
		}
		u, err := us.Create(ctx, actor, name, web.UserFields{DisplayName: *display, Role: audit.Role(*role), Lang: *lang, Phone: *phone}, password)
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		fmt.Fprintf(c.stdout, "created user %s (%s)\n", u.Username, u.Role)
	case "passwd":
		if err := us.SetPassword(ctx, actor, pos[0], password, nil); err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		fmt.Fprintf(c.stdout, "password of %s changed\n", web.NormalizeUsername(pos[0]))
	case "disable", "enable":
		if err := us.SetDisabled(ctx, actor, pos[0], sub == "disable"); err != nil {
			return fmt.Errorf("user %s: %w", sub, err)
		}
		fmt.Fprintf(c.stdout, "%s %sd\n", web.NormalizeUsername(pos[0]), sub)
	case "list":
		list, err := us.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USERNAME\tROLE\tLANG\tPHONE\tSTATUS\tDISPLAY NAME")
		for _, u := range list {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, u.Lang, maskedPhone(u.Phone), status, u.DisplayName)
		}
		return tw.Flush()
	}
	return nil
}

// readPassword takes the password from HUIFANG_PASSWORD, or else the first
// line of standard input.
func readPassword(c *cli) (string, error) {
	if pw := c.getenv("HUIFANG_PASSWORD"); pw != "" {
		return pw, nil
	}
	fmt.Fprint(c.stderr, "password: ")
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	fmt.Fprintln(c.stderr)
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", fmt.Errorf("no password: set HUIFANG_PASSWORD or give it on standard input (%v)", err)
		}
		return "", errors.New("no password: the first line of standard input is empty")
	}
	return line, nil
}

// maskedPhone shows a phone number's start and last four digits only.
func maskedPhone(p string) string {
	if len(p) <= 7 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}
