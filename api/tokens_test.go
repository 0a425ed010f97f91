package api

import "testing"

// TestTokensReplace checks what a reload may do: replace the tokens of a
// server started with some (the old token refused, the new one given its
// role), but neither give tokens to a server started without (it serves
// without authentication) nor take every token away.
func TestTokensReplace(t *testing.T) {
	const oldToken, newToken = "old-token-0123456789", "new-token-0123456789"
	parse := func(text string) *Tokens {
		t.Helper()
		tok, err := ParseTokens("test", text)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tokens := parse("write " + oldToken)
	if err := tokens.Replace(parse("read " + newToken + "\njudge " + newToken + "x")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		want  role
	}{
		{oldToken, roleNone},
		{newToken, roleRead},
		{newToken + "x", roleJudge},
	} {
		if got := tokens.roleOf(tc.token); got != tc.want {
			t.Errorf("after Replace, %s has role %s; want %s", tc.token, got, tc.want)
		}
	}
	if tokens.Len() != 2 {
		t.Errorf("Len %d after Replace; want 2", tokens.Len())
	}
	if err := tokens.Replace(&Tokens{}); err == nil || tokens.Len() != 2 {
		t.Errorf("Replace with no tokens: %v, %d tokens left; want an error and the tokens kept", err, tokens.Len())
	}
	var none *Tokens
	if err := none.Replace(parse("read " + newToken)); err == nil {
		t.Error("Replace on a server started without tokens: no error")
	}
	if err := (&Tokens{}).Replace(parse("read " + newToken)); err == nil {
		t.Error("Replace of empty tokens: no error")
	}
}
