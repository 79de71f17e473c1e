package numbers

import "testing"

func TestExtractCode(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"Telegram code: 12345", "12345"},
		{"Your Telegram code is 48213. Do not give it to anyone.", "48213"},
		{"Telegram code 27019\n\nYou can also tap on this link to log in:\nhttps://t.me/login/27019", "27019"},
		{"<#> Your WhatsApp code: 123-456\nDon't share this code with others\n4sgLq1p5sV6", "123456"},
		{"WhatsApp code 482 913", "482913"},
		{"G-482913 is your Google verification code.", "482913"},
		{"Your verification code is 7731. It expires in 10 minutes.", "7731"},
		{"Your Discord verification code is: 901234", "901234"},
		{"Your Uber code: 5521. Never share this code.", "5521"},
		{"Use 338201 as your Instagram code", "338201"},
		{"Your Amazon OTP is 120044. Do not share it with anyone.", "120044"},
		{"Your one-time PIN is 8842", "8842"},
		{"Ваш код подтверждения: 4821", "4821"},
		{"Код для входа в Telegram: 55120", "55120"},
		{"Никому не сообщайте код 663019 от ВКонтакте", "663019"},
		{"Tu código de verificación es 903114", "903114"},
		{"Su código de Uber es 2291", "2291"},
		{"Seu código do iFood é 554 102", "554102"},
		{"Ihr Bestätigungscode lautet 604512", "604512"},
		{"Dein Sicherheitscode: 77310", "77310"},
		{"Votre code de vérification est 481920", "481920"},
		{"Votre mot de passe temporaire : 662014", "662014"},
		{"Je verificatiecode is 301977", "301977"},
		{"Twój kod weryfikacyjny to 118204", "118204"},
		{"Doğrulama kodunuz: 450912", "450912"},
		{"您的验证码是 839201，5分钟内有效。", "839201"},
		{"認証コード：194023", "194023"},
		{"Your code is 884321.\n\n@example.com #884321", "884321"},
		{"123456 is your code.\n@login.example.org #A1B2C3", "A1B2C3"},
		{"Order 2024 shipped. Your Microsoft security code is 91283", "91283"},
		{"Your Apple ID Code is: 410293. Don't share it with anyone.", "410293"},
		{"Facebook: 55012 is your confirmation code", "55012"},
		{"Hello, your parcel is on its way.", ""},
		{"Call 12 to confirm", ""},
	} {
		if got := ExtractCode(c.text); got != c.want {
			t.Errorf("ExtractCode(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
